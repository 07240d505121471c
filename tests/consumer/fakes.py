"""Fakes of the consumer loop's ports (subclassing them)."""

import uuid
from collections.abc import Sequence

from playball_events.consumer.ports import (
    ApplyOutcome,
    ConsumedEvent,
    DeadLetter,
    DeadLetterSink,
    EventHandler,
    MessageSource,
    Position,
    RawMessage,
    TransientError,
)
from playball_events.contracts import UserDeleted, UserRegistered, UserUpdated

UserEvent = UserRegistered | UserUpdated | UserDeleted


class FakeSource(MessageSource):
    def __init__(self, messages: Sequence[RawMessage] = ()) -> None:
        self.pending = list(messages)
        self.committed: list[Position] = []
        self.rewound = 0
        self.closed = False
        self.log: list[str] = []  # commit order against the handler's, for ordering tests

    def poll_batch(self, max_messages: int, timeout: float) -> list[RawMessage]:  # noqa: ARG002
        batch, self.pending = self.pending[:max_messages], self.pending[max_messages:]
        return batch

    def commit(self, positions: Sequence[Position]) -> None:
        self.log.append("commit")
        self.committed.extend(positions)

    def rewind(self, messages: Sequence[RawMessage]) -> None:
        self.rewound += 1
        self.pending = [*messages, *self.pending]

    def lag(self) -> int | None:
        return len(self.pending)

    def close(self) -> None:
        self.closed = True


class FakeDeadLetters(DeadLetterSink):
    def __init__(self) -> None:
        self.parked: list[DeadLetter] = []
        self.failures_left = 0

    def park(self, letters: Sequence[DeadLetter]) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("broker unreachable")
        self.parked.extend(letters)


class FakeHandler(EventHandler[UserEvent]):
    """Records event ids; dedups on them; can fail transiently or on one poison id."""

    def __init__(self, log: list[str] | None = None) -> None:
        self.processed: set[uuid.UUID] = set()
        self.applied: list[uuid.UUID] = []
        self.transient_failures = 0
        self.refuse: set[uuid.UUID] = set()
        self.log = log if log is not None else []

    def invalid_reason(self, event: ConsumedEvent[UserEvent]) -> str | None:
        if event.message.key != str(event.record.user_id).encode():
            return "key is not the user id"
        return None

    def apply(self, events: Sequence[ConsumedEvent[UserEvent]]) -> ApplyOutcome[UserEvent]:
        if self.transient_failures:
            self.transient_failures -= 1
            raise TransientError("database restarting")
        if any(e.event_id in self.refuse for e in events):
            raise ValueError("constraint violated")
        duplicates = [e for e in events if e.event_id in self.processed]
        fresh = [e for e in events if e.event_id not in self.processed]
        for event in fresh:
            self.processed.add(event.event_id)
            self.applied.append(event.event_id)
        self.log.append("apply")
        return ApplyOutcome(applied=fresh, duplicates=duplicates)
