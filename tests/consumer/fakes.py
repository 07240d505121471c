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
