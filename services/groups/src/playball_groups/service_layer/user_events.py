"""Applying user events to the view: the consumer's handler for the groups service.

A batch is applied in one transaction: processed rows tell duplicates apart, the domain's
fold applies the version guard and tombstones, deleted users leave their groups (with the
succession policy), and every non-duplicate event id gets its processed row.
"""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from playball_events.consumer.ports import (
    ApplyOutcome,
    ConsumedEvent,
    EventHandler,
    TransientError,
)
from playball_events.contracts import UserDeleted

from playball_groups.domain.user_view import UserEvent, Verdict, fold
from playball_groups.service_layer.groups import settle, utcnow
from playball_groups.service_layer.unit_of_work import ProcessedEvent, UnitOfWork


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
    ) -> None:
        self._unit_of_work = unit_of_work
        self._is_transient = is_transient
        self._limits = limits
        self._clock = clock

    def invalid_reason(self, event: ConsumedEvent[UserEvent]) -> str | None:
        record = event.record
        key = event.message.key
        if key is None or key.decode(errors="replace") != str(record.user_id):
            return f"message key {key!r} is not the record's user_id {record.user_id}"
        if record.user_version < 1:
            return f"user_version {record.user_version} is not positive"
        if isinstance(record, UserDeleted):
            return None
        for field, limit in (
            ("username", self._limits.username),
            ("display_name", self._limits.display_name),
        ):
            value: str = getattr(record, field)
            if len(value) > limit:
                return f"{field} of {len(value)} characters exceeds the view's {limit}"
            if "\x00" in value:
                return f"{field} contains a NUL character"
        return None

    def is_transient(self, error: Exception) -> bool:
        return isinstance(error, TransientError) or self._is_transient(error)

    def apply(self, events: Sequence[ConsumedEvent[UserEvent]]) -> ApplyOutcome[UserEvent]:
        now = self._clock()
        with self._unit_of_work() as uow:
            claimed = uow.processed.claim(
                [
                    ProcessedEvent(
                        e.event_id, e.message.topic, e.message.partition, e.message.offset, now
                    )
                    for e in events
                ]
            )
            fresh: list[ConsumedEvent[UserEvent]] = []
            duplicates: list[ConsumedEvent[UserEvent]] = []
            for event in events:
                if event.event_id in claimed:
                    claimed.discard(event.event_id)  # a second copy in this batch is a duplicate
                    fresh.append(event)
                else:
                    duplicates.append(event)
            current = uow.users.get_many({e.record.user_id for e in fresh})
            folded = fold(current, [e.record for e in fresh])
            if folded.changed:
                uow.users.save(list(folded.changed.values()))
            if folded.newly_deleted:
                settle(uow, sorted(uow.groups.remove_users(folded.newly_deleted)))
            uow.commit()
        applied = [e for e, v in zip(fresh, folded.verdicts, strict=True) if v is Verdict.APPLIED]
        stale = [e for e, v in zip(fresh, folded.verdicts, strict=True) if v is Verdict.STALE]
        return ApplyOutcome(applied=applied, duplicates=duplicates, stale=stale)
