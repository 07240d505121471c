"""What the consumer loop needs from Kafka, the dead-letter topic and the service."""

import datetime as dt
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from playball_events.consumer.letter_limits import bounded_reason


class ContractEvent(Protocol):
    """What the loop reads of every generated event record."""

    @property
    def event_id(self) -> uuid.UUID: ...

    @property
    def occurred_at(self) -> dt.datetime: ...


E = TypeVar("E", bound=ContractEvent)
Tx = TypeVar("Tx")  # the database transaction the claim and the handler's changes share


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
    """What became of a batch (every event lands in exactly one list).

    The loop's claim finds the duplicates; the handler reports the rest applied or stale.
    """

    applied: Sequence[ConsumedEvent[E]] = ()
    duplicates: Sequence[ConsumedEvent[E]] = ()  # event id already processed
    stale: Sequence[ConsumedEvent[E]] = ()  # processed, but older than the view's state


class TransientError(Exception):
    """A dependency is unavailable (registry, database, broker); retry, never dead-letter."""


# Failures of the transport itself, whoever raises them: a dependency that did not answer
# (in time) says nothing about the message, so they are retried, never parked.
TRANSIENT_BUILTINS = (TransientError, ConnectionError, TimeoutError)


class EventHandler(ABC, Generic[E, Tx]):
    """The service's side: validates events and applies the fresh ones of a batch.

    The loop claims the batch's event ids (:class:`ProcessedEvents`) and hands
    :meth:`apply` only the events not processed before, inside the same transaction,
    which the loop commits afterwards: a handler never sees a duplicate, never commits.
    """

    @abstractmethod
    def invalid_reason(self, event: ConsumedEvent[E]) -> str | None:
        """Why this decoded event cannot be applied ever (poison), or None when it can."""

    @abstractmethod
    def apply(self, fresh: Sequence[ConsumedEvent[E]], tx: Tx) -> ApplyOutcome[E]:
        """Apply these events, in order, inside ``tx``: each one applied or stale; or raise."""

    def is_erasure(self, event: ConsumedEvent[E]) -> bool:
        """Whether ``event`` erases its key's data (a user's deletion).

        For each such event the loop writes a tombstone of its key to the dead-letter
        topic, so compaction removes the key's letters too (:meth:`DeadLetterSink.erase`).
        """
        del event  # a handler that erases nothing keeps this answer
        return False

    def is_transient(self, error: Exception) -> bool:
        """Whether a failed transaction is worth retrying as it is (a lost connection).

        Anything else that fails the batch is the events' fault: they are applied one by
        one and the ones that still fail are parked. A SQL handler passes
        :func:`~.transient_sql.is_transient_database_error`.
        """
        return isinstance(error, TRANSIENT_BUILTINS)


class ProcessedEvents(ABC, Generic[Tx]):
    """The processed-events claim: one row per applied event id, in the view's database.

    Written in the transaction that applies the events, so a redelivered event (a crash
    between the database commit and the offset commit) is recognised as a duplicate.
    """

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Tx]:
        """A transaction: committed when the block ends, rolled back when it raises."""

    @abstractmethod
    def claim(self, events: Sequence[ConsumedEvent[Any]], tx: Tx) -> set[uuid.UUID]:
        """Record every event id not recorded yet; the ids recorded BEFORE this call.

        An id repeated inside ``events`` is recorded once and is not in the answer.
        """


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
        """Record these positions as done, after the database commit (committed later).

        :class:`~.source_kafka.KafkaSource` only stores them (``store_offsets``);
        librdkafka's timer commits what is stored every ``auto.commit.interval.ms``, and a
        revoke or :meth:`close` commits it synchronously. A crash can lose the last
        interval's commits: those messages come back and are claimed as duplicates.
        """

    @abstractmethod
    def rewind(self, messages: Sequence[RawMessage]) -> None:
        """Read these messages again from the next poll (the batch was not applied)."""

    @abstractmethod
    def seek(self, positions: Sequence[Position]) -> None:
        """Read these partitions again from these offsets, from the next poll on."""

    def revoked(self) -> set[tuple[str, int]]:
        """The (topic, partition)s revoked or lost since the last call.

        What the loop remembers about a partition (an open run of poison messages) is
        forgotten with it: its next owner reads it again from the committed offset. A
        source without consumer-group rebalances never revokes anything.
        """
        return set()

    @abstractmethod
    def lag(self) -> int | None:
        """Messages behind the end of the assigned partitions; None when unknown."""

    @abstractmethod
    def close(self) -> None:
        """Leave the group; nothing in flight is left uncommitted by the loop."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A poison message and why it was parked; the reason is cut to 1 KiB of UTF-8.

    Reasons quote what the producer sent (a key, a header, a decoder's complaint), so
    they are bounded here, where every letter is made, not by each writer of one.
    """

    message: RawMessage
    reason: str
    # short machine reason: undecodable, unknown_schema, foreign_schema, invalid, apply_failed
    kind: str
    parked_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", bounded_reason(self.reason))


class DeadLetterSink(ABC):
    """Where poison messages are parked (the dead-letter topic), durably, before their commit."""

    @abstractmethod
    def park(self, letters: Sequence[DeadLetter]) -> int:
        """Write every letter and wait until the broker has them all; or raise.

        A letter too large for the dead-letter topic is parked as a stub (where it was
        read, why, its value's length, no value); the answer is how many were.
        """

    @abstractmethod
    def erase(self, messages: Sequence[RawMessage]) -> None:
        """Tombstone each message's key on its topic's dead-letter topic, and wait.

        For the events that erase their key (:meth:`EventHandler.is_erasure`): once
        compacted, the dead-letter topic holds none of that key's letters. Raises when a
        tombstone could not be written.
        """
