"""Applying user events to the view: the consumer's handler for the groups service.

The consumer loop claims the batch's event ids and hands :meth:`UserEventHandler.apply`
only the fresh events, inside the transaction it commits afterwards. A batch of
registrations and updates goes through :class:`ViewUpserts` where the database can do it
in one statement, which also answers each event's verdict; any other batch is folded by
the domain (version guard, tombstones), written through the repositories, and deleted
users leave their groups (with the succession policy).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic

from playball_events.consumer.letter_limits import preview
from playball_events.consumer.ports import (
    ApplyOutcome,
    ConsumedEvent,
    EventHandler,
    TransientError,
)
from playball_events.contracts import UserDeleted

from playball_groups.domain.succession import settle
from playball_groups.domain.user_view import UserEvent, Verdict, fold
from playball_groups.service_layer.unit_of_work import Repositories, Tx, ViewUpserts


@dataclass(frozen=True, slots=True)
class ViewLimits:
    """The widest names the view's columns hold; a longer one is parked, not truncated.

    Checked before the transaction, so one oversized name cannot fail a whole batch.
    """

    username: int = 255
    display_name: int = 255


class UserEventHandler(EventHandler[UserEvent, Tx], Generic[Tx]):
    def __init__(
        self,
        repositories: Callable[[Tx], Repositories],
        *,
        is_transient: Callable[[Exception], bool] = lambda _exc: False,
        limits: ViewLimits = ViewLimits(),
        upserts: ViewUpserts[Tx] | None = None,
    ) -> None:
        self._repositories = repositories
        self._upserts = upserts
        self._is_transient = is_transient
        self._limits = limits

    def invalid_reason(self, event: ConsumedEvent[UserEvent]) -> str | None:
        record = event.record
        key = event.message.key
        # bytes against the UUID's canonical text: no decode on the common (equal) path
        if key is None or key != str(record.user_id).encode():
            return f"message key {preview(key)} is not the record's user_id {record.user_id}"
        if record.user_version < 1:
            return f"user_version {record.user_version} is not positive"
        if isinstance(record, UserDeleted):
            return None
        username, display_name = record.username, record.display_name
        limits = self._limits
        # the usual event passes with four cheap tests; _name_problem only says why not
        if (
            len(username) <= limits.username
            and len(display_name) <= limits.display_name
            and "\x00" not in username
            and "\x00" not in display_name
        ):
            return None
        return self._name_problem(username, display_name)

    def _name_problem(self, username: str, display_name: str) -> str | None:
        for field, value, limit in (
            ("username", username, self._limits.username),
            ("display_name", display_name, self._limits.display_name),
        ):
            if len(value) > limit:
                return f"{field} of {len(value)} characters exceeds the view's {limit}"
            if "\x00" in value:
                return f"{field} contains a NUL character"
        return None

    def is_erasure(self, event: ConsumedEvent[UserEvent]) -> bool:
        # a deletion: the loop then tombstones the user's letters on the dead-letter topic
        return isinstance(event.record, UserDeleted)

    def is_transient(self, error: Exception) -> bool:
        return isinstance(error, TransientError) or self._is_transient(error)

    def apply(self, fresh: Sequence[ConsumedEvent[UserEvent]], tx: Tx) -> ApplyOutcome[UserEvent]:
        records = [e.record for e in fresh]
        if self._upserts is not None:
            states = [r for r in records if not isinstance(r, UserDeleted)]
            if len(states) == len(records):  # no deletion: one statement
                return _outcome(fresh, self._upserts.upsert(states, tx))
        repositories = self._repositories(tx)
        folded = fold(repositories.users.get_many({r.user_id for r in records}), records)
        if folded.changed:
            repositories.users.save(list(folded.changed.values()))
        if folded.newly_deleted:
            groups = repositories.groups
            settle(groups, sorted(groups.remove_users(folded.newly_deleted)))
        return _outcome(fresh, folded.verdicts)


def _outcome(
    events: Sequence[ConsumedEvent[UserEvent]], verdicts: Sequence[Verdict]
) -> ApplyOutcome[UserEvent]:
    if Verdict.STALE not in verdicts:
        return ApplyOutcome(applied=events)
    applied = [e for e, v in zip(events, verdicts, strict=True) if v is Verdict.APPLIED]
    stale = [e for e, v in zip(events, verdicts, strict=True) if v is Verdict.STALE]
    return ApplyOutcome(applied=applied, stale=stale)
