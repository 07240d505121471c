"""Fakes of the consumer loop's ports (subclassing them)."""

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from playball_events.consumer.ports import (
    ApplyOutcome,
    ConsumedEvent,
    DeadLetter,
    DeadLetterSink,
    EventHandler,
    MessageSource,
    Position,
    ProcessedEvents,
    RawMessage,
    TransientError,
)
from playball_events.contracts import UserDeleted, UserRegistered, UserUpdated

UserEvent = UserRegistered | UserUpdated | UserDeleted


class FakeSource(MessageSource):
    """A queue of messages; every message ever queued stays in ``history`` for seeks."""

    def __init__(self, messages: Sequence[RawMessage] = ()) -> None:
        self.pending = list(messages)
        self.history = list(messages)
        self.committed: list[Position] = []
        self.rewound = 0
        self.seeks: list[Position] = []
        self.revoke_next: set[tuple[str, int]] = set()  # answered by the next revoked()
        self.closed = False
        self.log: list[str] = []  # commit order against the handler's, for ordering tests

    def add(self, messages: Sequence[RawMessage]) -> None:
        """Messages produced after the source was made."""
        self.pending.extend(messages)
        self.history.extend(messages)

    def committed_offset(self, topic: str, partition: int) -> int | None:
        """The last offset committed for a partition (the next to read), as Kafka keeps it."""
        found = [p.offset for p in self.committed if (p.topic, p.partition) == (topic, partition)]
        return found[-1] if found else None

    def poll_batch(self, max_messages: int, timeout: float) -> list[RawMessage]:  # noqa: ARG002
        batch, self.pending = self.pending[:max_messages], self.pending[max_messages:]
        return batch

    def commit(self, positions: Sequence[Position]) -> None:
        self.log.append("commit")
        self.committed.extend(positions)

    def rewind(self, messages: Sequence[RawMessage]) -> None:
        self.rewound += 1
        self.pending = [*messages, *self.pending]

    def seek(self, positions: Sequence[Position]) -> None:
        self.seeks.extend(positions)
        for position in positions:
            where = (position.topic, position.partition)
            again = [
                m
                for m in self.history
                if (m.topic, m.partition) == where and m.offset >= position.offset
            ]
            others = [m for m in self.pending if (m.topic, m.partition) != where]
            self.pending = [*again, *others]

    def revoked(self) -> set[tuple[str, int]]:
        found, self.revoke_next = self.revoke_next, set()
        return found

    def lag(self) -> int | None:
        return len(self.pending)

    def close(self) -> None:
        self.closed = True


class FakeDeadLetters(DeadLetterSink):
    def __init__(self) -> None:
        self.parked: list[DeadLetter] = []
        self.failures_left = 0
        self.too_large: set[int] = set()  # source offsets whose letters become stubs
        self.erased: list[RawMessage] = []  # the messages whose keys were tombstoned

    def park(self, letters: Sequence[DeadLetter]) -> int:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("broker unreachable")
        self.parked.extend(letters)
        return sum(1 for letter in letters if letter.message.offset in self.too_large)

    def erase(self, messages: Sequence[RawMessage]) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("broker unreachable")
        self.erased.extend(messages)


class FakeProcessedEvents(ProcessedEvents[set[uuid.UUID]]):
    """The claimed ids; a transaction claims into a copy, kept only when it commits."""

    def __init__(self) -> None:
        self.ids: set[uuid.UUID] = set()

    @contextmanager
    def transaction(self) -> Iterator[set[uuid.UUID]]:
        working = set(self.ids)
        yield working
        self.ids = working

    def claim(self, events: Sequence[ConsumedEvent[Any]], tx: set[uuid.UUID]) -> set[uuid.UUID]:
        seen = {e.event_id for e in events} & tx
        tx.update(e.event_id for e in events)
        return seen


class FakeHandler(EventHandler[UserEvent, set[uuid.UUID]]):
    """Records the event ids it applied; can fail transiently or on one poison id."""

    def __init__(self, log: list[str] | None = None) -> None:
        self.applied: list[uuid.UUID] = []
        self.transient_failures = 0
        self.refuse: set[uuid.UUID] = set()
        self.log = log if log is not None else []

    def invalid_reason(self, event: ConsumedEvent[UserEvent]) -> str | None:
        if event.message.key != str(event.record.user_id).encode():
            return "key is not the user id"
        return None

    def apply(
        self,
        fresh: Sequence[ConsumedEvent[UserEvent]],
        tx: set[uuid.UUID],  # noqa: ARG002 - the claim is the fake's whole transaction
    ) -> ApplyOutcome[UserEvent]:
        if self.transient_failures:
            self.transient_failures -= 1
            raise TransientError("database restarting")
        if any(e.event_id in self.refuse for e in fresh):
            raise ValueError("constraint violated")
        self.applied.extend(e.event_id for e in fresh)
        self.log.append("apply")
        return ApplyOutcome(applied=fresh)
