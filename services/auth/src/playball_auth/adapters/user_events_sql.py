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

The commonest flush, one loaded user with some columns changed and at most one event
(a profile change), is saved by the hook itself (:func:`_save_one_update`): the checks
and the event collection above, then the UPDATE with its version check and the outbox
row as one cached statement, and the user marked saved, so the ORM's flush finds
nothing left to do. On PostgreSQL the row is inserted by the same statement as the
UPDATE (a data-modifying CTE), and only if the UPDATE found the user at the version
read: one round trip instead of two, and no outbox row for a stale write. The ORM's own
unit-of-work machinery took a quarter of the API's CPU per profile change, the extra
round trip another tenth (scripts/bench_auth_api.py, issue 21). When that statement is
all the transaction sends (the flush is the commit's, and the user was read outside the
transaction, see ``SqlUserRepository.get``), it runs alone: no BEGIN and no COMMIT round
trip (``DriverStatement``'s ``alone``; atomic by itself, one statement).
"""

import functools
from collections.abc import Iterator
from typing import Any

from playball_events.contracts import UserDeleted
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_events.driver_sql import DriverStatement
from playball_events.outbox.model import NewOutboxEvent, new_outbox_event
from playball_events.outbox.writer_sql import (
    erase_parked_payloads,
    outbox_rows,
    trace_headers,
    write_outbox_events,
)
from sqlalchemy import (
    Connection,
    Insert,
    Update,
    bindparam,
    event,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.orm import InstanceState, Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from playball_auth.adapters.orm_sql import outbox, users
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


# the outbox row's columns, as ``outbox_rows`` gives them
_OUTBOX_COLUMNS = (
    "event_id",
    "aggregate_id",
    "aggregate_version",
    "record_type",
    "topic",
    "subject",
    "payload",
    "schema_fingerprint",
    "headers",
    "created_at",
)


@functools.cache
def _user_update(changed: tuple[str, ...]) -> Update:
    """UPDATE users SET <changed> WHERE id and version are the ones read: built once per
    set of changed columns, so SQLAlchemy's compiled cache finds it at once."""
    return (
        update(users)
        .where(users.c.id == bindparam("saved_id"), users.c.version == bindparam("read_version"))
        .values({name: bindparam(f"new_{name}", type_=users.c[name].type) for name in changed})
    )


@functools.cache
def _user_update_with_event(changed: tuple[str, ...]) -> Insert:
    """The UPDATE and the event's outbox row in one statement (PostgreSQL): the row is
    inserted once per user row updated, so none for a stale version."""
    saved = _user_update(changed).returning(users.c.id).cte("saved")
    values = [bindparam(f"row_{name}", type_=outbox.c[name].type) for name in _OUTBOX_COLUMNS]
    row = select(*values).select_from(saved)
    # the state and attempts come from the table's server defaults (pending, 0); an
    # INSERT's row count is kept only when asked for
    return (
        insert(outbox)
        .from_select(list(_OUTBOX_COLUMNS), row, include_defaults=False)
        .execution_options(preserve_rowcount=True)
    )


def _changed_columns(state: InstanceState[Any]) -> tuple[str, ...] | None:
    """The user's columns changed since it was read (sorted), or None unless it is a
    plain update of a loaded user: any other case is the ORM flush's."""
    if not state.persistent or state.expired_attributes:
        return None
    committed, current = state.committed_state, state.dict
    return tuple(sorted(name for name, old in committed.items() if current.get(name) != old))


@functools.cache
def _on_driver(statement: Insert | Update) -> DriverStatement:
    """``statement`` on the driver's cursor (playball_events.driver_sql): SQLAlchemy's
    execution path cost about 0.1 ms of the API's CPU per profile change."""
    return DriverStatement(statement)


def _execute_saved(
    connection: Connection,
    statement: Insert | Update,
    parameters: dict[str, Any],
    user: User,
    *,
    alone: bool,
) -> None:
    if connection.dialect.name == "postgresql":
        saved = _on_driver(statement).rowcount(connection, parameters, alone=alone)
    else:
        saved = connection.execute(statement, parameters).rowcount
    if saved != 1:
        # what the ORM's flush raises for a version check that fails: the unit of work
        # turns it into StaleUser, and the use case retries on fresh state
        msg = f"UPDATE of {user!r} matched no row at the version read"
        raise StaleDataError(msg)


def _save_one_update(session: Session) -> bool:
    """Save the flush's one changed user and its event here, if that is all the flush
    holds; False (nothing done) otherwise. See the module's text."""
    if session.new or session.deleted:
        return False
    dirty = session.dirty
    if len(dirty) != 1:
        return False
    (user,) = dirty
    if not isinstance(user, User) or len(user.events) > 1:
        return False
    state: InstanceState[User] = inspect(user)
    changed = _changed_columns(state)
    if changed is None or (user.events and not changed):
        return False  # an event without a change to save: the general path writes it
    _check_recorded(user, deleted=False)
    if changed:
        read_version = state.committed_state.get("version", user.version)
        parameters = {"saved_id": user.id, "read_version": read_version}
        parameters.update({f"new_{name}": state.dict[name] for name in changed})
        connection = session.connection()
        # the commit's flush sends this one statement and nothing after it
        alone = _is_commit_flush(session)
        if not user.events:
            _execute_saved(connection, _user_update(changed), parameters, user, alone=alone)
        elif connection.dialect.name == "postgresql":
            (row,) = outbox_rows([outbox_event(user.events[0])], trace_headers())
            parameters.update({f"row_{name}": row[name] for name in _OUTBOX_COLUMNS})
            statement = _user_update_with_event(changed)
            _execute_saved(connection, statement, parameters, user, alone=alone)
        else:  # SQLite has no data-modifying CTE: the row first, as the ORM path does
            write_outbox_events(connection, outbox, [outbox_event(user.events[0])])
            _execute_saved(connection, _user_update(changed), parameters, user, alone=False)
    user.events.clear()
    # what the ORM's flush does once it has saved a state: its changes are now the
    # committed values, and the session has nothing left to flush for it
    state._commit_all(state.dict, session.identity_map)
    return True


# session.info's key: the transaction whose commit is flushing (before_commit fires just
# before the commit's flush); a flush of any other transaction finds another one there
_COMMITTING = "playball.committing"


def _note_commit(session: Session) -> None:
    session.info[_COMMITTING] = session.get_transaction()


def _is_commit_flush(session: Session) -> bool:
    """Whether this flush is the one its transaction's commit runs and the hook's
    statement the last the transaction sends: not an autoflush or an explicit flush
    before more work, and no other listener of the flush that could send SQL after it
    (a ``before_flush`` listener after this hook, any ``after_flush`` one)."""
    committing = session.info.pop(_COMMITTING, None)
    if committing is None or committing is not session.get_transaction():
        return False
    dispatch = session.dispatch
    *_, last = dispatch.before_flush
    return (
        last is _write_recorded_events
        and not dispatch.after_flush
        and not dispatch.after_flush_postexec
    )


def _write_recorded_events(session: Session, _context: object, _instances: object) -> None:
    # before the flush's own statements: a refused flush has sent nothing
    if _save_one_update(session):
        return
    rows = collect_user_events(session)
    if rows:
        connection = session.connection()
        write_outbox_events(connection, outbox, rows)
        deleted = [row.aggregate_id for row in rows if row.record_type == _DELETION]
        erase_parked_payloads(connection, outbox, deleted)


def install(target: "sessionmaker[Any] | type[Session]") -> None:
    """Make every flush through ``target`` write the users' recorded events to the outbox."""
    event.listen(target, "before_flush", _write_recorded_events)
    event.listen(target, "before_commit", _note_commit)
