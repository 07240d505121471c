"""Applying user events to the view: the consumer's handler for the groups service.

A batch is applied in one transaction: processed rows tell duplicates apart, the domain's
fold applies the version guard and tombstones, deleted users leave their groups (with the
succession policy), and every non-duplicate event id gets its processed row.

A batch without deletions can instead go through :class:`ViewUpserts`, one atomic step
(one statement on PostgreSQL). The fold then runs on the rows as they were before it, to
tell each event's verdict; it decides what the statement's guard decided.
"""

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from playball_events.consumer.ports import (
    ApplyOutcome,
    ConsumedEvent,
    EventHandler,
    TransientError,
)
from playball_events.contracts import UserDeleted

from playball_groups.domain.model import KnownUser
from playball_groups.domain.user_view import Folded, UserEvent, Verdict, fold
from playball_groups.service_layer.groups import settle, utcnow
from playball_groups.service_layer.unit_of_work import ProcessedEvent, UnitOfWork, ViewUpserts


@dataclass(frozen=True, slots=True)
class ViewLimits:
    """The widest names the view's columns hold; a longer one is parked, not truncated.

    Checked before the transaction, so one oversized name cannot fail a whole batch.
    """

    username: int = 255
    display_name: int = 255


class UserEventHandler(EventHandler[UserEvent]):
    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        *,
        is_transient: Callable[[Exception], bool] = lambda _exc: False,
        limits: ViewLimits = ViewLimits(),
        clock: Callable[[], dt.datetime] = utcnow,
        upserts: ViewUpserts | None = None,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._upserts = upserts
        self._is_transient = is_transient
        self._limits = limits
        self._clock = clock

    def invalid_reason(self, event: ConsumedEvent[UserEvent]) -> str | None:
        record = event.record
        key = event.message.key
        # bytes against the UUID's canonical text: no decode on the common (equal) path
        if key is None or key != str(record.user_id).encode():
            return f"message key {key!r} is not the record's user_id {record.user_id}"
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

    def is_transient(self, error: Exception) -> bool:
        return isinstance(error, TransientError) or self._is_transient(error)

    def apply(self, events: Sequence[ConsumedEvent[UserEvent]]) -> ApplyOutcome[UserEvent]:
        now = self._clock()
        records = [e.record for e in events]
        processed = [
            ProcessedEvent(r.event_id, m.topic, m.partition, m.offset, now)
            for r, m in zip(records, (e.message for e in events), strict=True)
        ]
        if self._upserts is not None:
            states = [
                KnownUser(r.user_id, r.user_version, False, r.username, r.display_name)
                for r in records
                if not isinstance(r, UserDeleted)
            ]
            if len(states) == len(records):  # no deletion: one atomic step
                seen, before = self._upserts.claim_and_upsert(processed, states)
                fresh, duplicates = _fresh(events, seen)
                return _outcome(fresh, duplicates, fold(before, [e.record for e in fresh]))
        with self._unit_of_work() as uow:
            seen = uow.processed.claim_duplicates(processed)
            fresh, duplicates = _fresh(events, seen)
            records = [e.record for e in fresh]
            current = uow.users.get_many({r.user_id for r in records})
            folded = fold(current, records)
            if folded.changed:
                uow.users.save(list(folded.changed.values()))
            if folded.newly_deleted:
                settle(uow, sorted(uow.groups.remove_users(folded.newly_deleted)))
            uow.commit()
        return _outcome(fresh, duplicates, folded)


def _fresh(
    events: Sequence[ConsumedEvent[UserEvent]], seen: set[uuid.UUID]
) -> tuple[Sequence[ConsumedEvent[UserEvent]], list[ConsumedEvent[UserEvent]]]:
    """The events to apply, and the duplicates (``seen`` are the ids processed before)."""
    # The usual batch has no duplicate at all: checked on the ids' ints (C-level hashing)
    # instead of splitting the batch event by event.
    if seen or len({e.record.event_id.int for e in events}) != len(events):
        return _split_duplicates(events, seen)
    return events, []


def _outcome(
    fresh: Sequence[ConsumedEvent[UserEvent]],
    duplicates: list[ConsumedEvent[UserEvent]],
    folded: Folded,
) -> ApplyOutcome[UserEvent]:
    if folded.stale_count == 0:
        return ApplyOutcome(applied=fresh, duplicates=duplicates)
    applied = [e for e, v in zip(fresh, folded.verdicts, strict=True) if v is Verdict.APPLIED]
    stale = [e for e, v in zip(fresh, folded.verdicts, strict=True) if v is Verdict.STALE]
    return ApplyOutcome(applied=applied, duplicates=duplicates, stale=stale)


def _split_duplicates(
    events: Sequence[ConsumedEvent[UserEvent]], seen: set[uuid.UUID]
) -> tuple[list[ConsumedEvent[UserEvent]], list[ConsumedEvent[UserEvent]]]:
    """Fresh events and duplicates: processed before, or a second copy in this batch."""
    fresh: list[ConsumedEvent[UserEvent]] = []
    duplicates: list[ConsumedEvent[UserEvent]] = []
    taken: set[uuid.UUID] = set()
    for event in events:
        event_id = event.record.event_id
        if event_id in seen or event_id in taken:
            duplicates.append(event)
        else:
            taken.add(event_id)
            fresh.append(event)
    return fresh, duplicates
