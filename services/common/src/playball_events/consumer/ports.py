"""What the consumer loop needs from Kafka, the dead-letter topic and the service."""

import datetime as dt
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar


class ContractEvent(Protocol):
    """What the loop reads of every generated event record."""

    @property
    def event_id(self) -> uuid.UUID: ...

    @property
    def occurred_at(self) -> dt.datetime: ...


E = TypeVar("E", bound=ContractEvent)


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A Kafka message as it came off the wire, before decoding."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    # the message's Kafka timestamp (the producer's CreateTime unless the topic says
    # LogAppendTime), ms since the epoch; None when it has none
    timestamp_ms: int | None = None

    def header(self, name: str) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class ConsumedEvent(Generic[E]):
    """A decoded event and where it was read."""

    record: E
    message: RawMessage

    @property
    def event_id(self) -> uuid.UUID:
        return self.record.event_id


@dataclass(frozen=True, slots=True)
class ApplyOutcome(Generic[E]):
    """What a handler did with a batch (every event lands in exactly one list)."""

    applied: Sequence[ConsumedEvent[E]] = ()
    duplicates: Sequence[ConsumedEvent[E]] = ()  # event id already processed
    stale: Sequence[ConsumedEvent[E]] = ()  # processed, but older than the view's state


class TransientError(Exception):
    """A dependency is unavailable (registry, database, broker); retry, never dead-letter."""


class EventHandler(ABC, Generic[E]):
    """The service's side: validates events and applies a batch in ONE transaction.

    ``apply`` must write a processed-event row per event id in the same transaction as
    the state change, and report an event whose id is already recorded as a duplicate.
    """

    @abstractmethod
    def invalid_reason(self, event: ConsumedEvent[E]) -> str | None:
        """Why this decoded event cannot be applied ever (poison), or None when it can."""

    @abstractmethod
    def apply(self, events: Sequence[ConsumedEvent[E]]) -> ApplyOutcome[E]:
        """Apply the events, in order, and their processed rows; commit; or raise."""

    def is_transient(self, error: Exception) -> bool:
        """Whether a failure of ``apply`` is worth retrying as it is (a lost connection)."""
        return isinstance(error, TransientError)


@dataclass(frozen=True, slots=True)
class Position:
    """The next offset to read in a partition: what a commit records."""

    topic: str
    partition: int
    offset: int


class MessageSource(ABC):
    """Batches of messages from the subscribed topic, and the commits of their offsets."""

    @abstractmethod
    def poll_batch(self, max_messages: int, timeout: float) -> list[RawMessage]:
        """Up to ``max_messages`` messages, waiting at most ``timeout`` seconds for the first."""

    @abstractmethod
    def commit(self, positions: Sequence[Position]) -> None:
        """Store and commit these positions synchronously (after the database commit)."""

    @abstractmethod
    def rewind(self, messages: Sequence[RawMessage]) -> None:
        """Read these messages again from the next poll (the batch was not applied)."""

    @abstractmethod
    def lag(self) -> int | None:
        """Messages behind the end of the assigned partitions; None when unknown."""

    @abstractmethod
    def close(self) -> None:
        """Leave the group; nothing in flight is left uncommitted by the loop."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A poison message and why it was parked."""

    message: RawMessage
    reason: str
    kind: str  # short machine reason: undecodable, unknown_schema, invalid, apply_failed
    parked_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


class DeadLetterSink(ABC):
    """Where poison messages are parked (``<topic>.dlq``), durably, before their commit."""

    @abstractmethod
    def park(self, letters: Sequence[DeadLetter]) -> None:
        """Write every letter and wait until the broker has them all; or raise."""
