"""Saving users enqueues the events they recorded: the flush hook of the outbox.

Installed on the sessions (:func:`install`) as a ``before_flush`` listener. Before each
flush, for every new, changed or deleted User in the session, :func:`collect_user_events`
takes the events the user recorded (``User.events``), turns each into its outbox row
(:func:`outbox_event`, the shared ``new_outbox_event``) and empties the list; the shared
``write_outbox_events`` inserts the rows through the flush's connection, in its
transaction. The calls go one way: this module calls the shared outbox code, which knows
nothing of users.

It also checks what the domain promises, so no code path can save a contract change
without its event: a user whose username, display name or version is about to change
must have recorded an event describing exactly the state saved (its version, username
and display name), and a deleted user a UserDeleted at its version. Otherwise the flush
fails with :class:`UnrecordedChangeError` and saves nothing (an attribute written
directly, bypassing the methods, say).

A flush that writes a user's ``UserDeleted`` also erases the payloads of that user's
parked outbox rows (``erase_parked_payloads``), in the same transaction: a deleted
user's name must not outlive it in a row that will never be sent (docs/privacy.md).
"""

from collections.abc import Iterator
from typing import Any

from playball_events.contracts import UserDeleted
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_events.outbox.model import NewOutboxEvent, new_outbox_event
from playball_events.outbox.writer_sql import erase_parked_payloads, write_outbox_events
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from playball_auth.adapters.orm_sql import outbox
from playball_auth.domain.model import CONTRACT_FIELDS, User, UserEvent

TOPIC = PLAYBALL_AUTH_USER_EVENTS_V1
_DELETION = TOPIC.subject_of(UserDeleted).record_full_name

# What a contract event states about a user: a change to any of these must be described
_CONTRACT_STATE = (*CONTRACT_FIELDS, "version")


class UnrecordedChangeError(RuntimeError):
    """A user is saved with a contract change none of its recorded events describes."""


def outbox_event(record: UserEvent) -> NewOutboxEvent:
    """The outbox row of a user event: keyed and ordered by the user and its version."""
    return new_outbox_event(
        record, TOPIC, aggregate_id=str(record.user_id), aggregate_version=record.user_version
    )


def _describes_saved_state(record: UserEvent | None, user: User) -> bool:
    if record is None or isinstance(record, UserDeleted):
        return False
    saved = (user.version, user.username, user.display_name)
    return (record.user_version, record.username, record.display_name) == saved


def _check_recorded(user: User, *, deleted: bool) -> None:
    last = user.events[-1] if user.events else None
    if deleted:
        if not (isinstance(last, UserDeleted) and last.user_version == user.version):
            msg = f"{user!r} is deleted without recording it: call User.delete first"
            raise UnrecordedChangeError(msg)
        return
    attrs = inspect(user).attrs
    changed = [name for name in _CONTRACT_STATE if attrs[name].history.has_changes()]
    if changed and not _describes_saved_state(last, user):
        msg = (
            f"{user!r} is saved with a change of {', '.join(changed)} that no recorded event "
            "describes: contract fields change only through User's methods"
        )
        raise UnrecordedChangeError(msg)


def _saved_users(session: Session) -> Iterator[tuple[User, bool]]:
    """Each User the flush inserts, updates or deletes, and whether it deletes it."""
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, User):
            yield obj, False
    for obj in session.deleted:
        if isinstance(obj, User):
            yield obj, True


def collect_user_events(session: Session) -> list[NewOutboxEvent]:
    saved = list(_saved_users(session))
    for user, deleted in saved:  # all checked first: a refused flush takes no events
        _check_recorded(user, deleted=deleted)
    found: list[NewOutboxEvent] = []
    for user, _ in saved:
        found.extend(outbox_event(record) for record in user.events)
        # written with this flush: a later flush of the session must not write them again
        user.events.clear()
    return found


def _write_recorded_events(session: Session, _context: object, _instances: object) -> None:
    # before the flush's own statements: a refused flush has sent nothing
    rows = collect_user_events(session)
    if rows:
        connection = session.connection()
        write_outbox_events(connection, outbox, rows)
        deleted = [row.aggregate_id for row in rows if row.record_type == _DELETION]
        erase_parked_payloads(connection, outbox, deleted)


def install(target: "sessionmaker[Any] | type[Session]") -> None:
    """Make every flush through ``target`` write the users' recorded events to the outbox."""
    event.listen(target, "before_flush", _write_recorded_events)
