"""What the relay needs from the database, the broker and the wake-up signal.

The relay core (:mod:`.relay`) only sees these ports; the adapters are the stores
(``store_postgres_sql``, ``store_sqlite_sql``), ``producer_kafka`` and ``wakeup_sql``, and
unit tests subclass them with fakes.
"""

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """A row the relay holds a lease on."""

    seq: int
    event_id: uuid.UUID
    aggregate_id: str
    aggregate_version: int
    record_type: str
    topic: str
    subject: str
    payload: bytes
    schema_fingerprint: str
    headers: dict[str, str]
    created_at: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class Retry:
    """A claimed event to put back: tried again at ``not_before`` (None: at once)."""

    event: OutboxEvent
    reason: str
    not_before: datetime | None


@dataclass(frozen=True, slots=True)
class ParkedEvent:
    event_id: uuid.UUID
    aggregate_id: str
    aggregate_version: int
    record_type: str
    attempts: int
    reason: str
    created_at: datetime
    # its payload was erased when its user was deleted: it can never be sent again
    payload_erased: bool = False


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    backlog: int  # pending rows, claimed or not
    oldest_unsent_age: timedelta | None  # of the oldest pending row; None when there is none
    parked: tuple[ParkedEvent, ...] = ()
    parked_count: int = 0
    sent: int = 0  # delivered rows still kept for the retention


class StoreUnavailableError(Exception):
    """The database did not answer; the relay waits and tries again."""


class PayloadErasedError(Exception):
    """A parked event's payload was erased (its user deleted): there is nothing to retry."""


class RelayLeaseHeldError(Exception):
    """Another relay holds the store's single-relay lease (SQLite); this one waits."""


class OutboxStore(ABC):
    """The outbox table, as the relay and the operators use it."""

    @abstractmethod
    def claim_batch(self, relay_id: str, limit: int, lease: timedelta) -> list[OutboxEvent]:
        """Lease up to ``limit`` deliverable events, each user's in version order.

        An event is only claimed together with every earlier unsent event of its user, so
        no two relays ever hold events of one user at once and nothing jumps a parked one.
        """

    @abstractmethod
    def mark_sent(self, events: Sequence[OutboxEvent]) -> None:
        """Record the broker's ack; the rows become cleanup's.

        Whoever holds the rows now, and even if another relay parked one after this
        relay's lease ran out: the broker has the message, so the row is sent (a parked
        copy retried later would only be a duplicate).
        """

    @abstractmethod
    def park(self, relay_id: str, event: OutboxEvent, reason: str) -> None:
        """Set an undeliverable event aside; its user's later events wait for a retry."""

    @abstractmethod
    def reschedule(self, relay_id: str, retries: Sequence[Retry]) -> None:
        """Give failed events back, counting the attempt, for another try later."""

    @abstractmethod
    def release(self, relay_id: str, events: Sequence[OutboxEvent] | None = None) -> None:
        """Give events back untried (all this relay holds when ``events`` is None)."""

    @abstractmethod
    def retry(self, event_id: uuid.UUID) -> bool:
        """Put a parked event back in line; False when no parked event has this id.

        Raises :class:`PayloadErasedError`, changing nothing, when its payload was erased.
        """

    @abstractmethod
    def cleanup(self, older_than: timedelta, batch_size: int, max_batches: int) -> int:
        """Delete sent rows acked before ``older_than`` ago, in small batches; how many."""

    @abstractmethod
    def status(self, parked_limit: int = 100) -> OutboxStatus: ...


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class DeliveryOutcome(StrEnum):
    ACKED = "acked"
    RETRIABLE = "retriable"  # not written; try again later
    POSSIBLY_PERSISTED = "possibly_persisted"  # timed out after the send: retry, count dupes
    FATAL = "fatal"  # this message can never be written as it is (too large, invalid)


@dataclass(frozen=True, slots=True)
class Delivery:
    outcome: DeliveryOutcome
    error: str | None = None
    latency: float | None = None  # seconds from produce to the broker's report


class PendingDeliveries(ABC):
    """Messages handed to the client whose reports are still coming."""

    @abstractmethod
    def wait(self) -> list[Delivery]:
        """One :class:`Delivery` per message, in order; returns when every one is known."""


class EventPublisher(ABC):
    """Sends messages; their delivery reports are awaited separately, so the relay can
    claim the next batch while the broker acknowledges this one."""

    @abstractmethod
    def send(self, messages: Sequence[OutgoingMessage]) -> PendingDeliveries:
        """Hand the messages to the client in order (same key, same partition, in order)."""

    @abstractmethod
    def close(self) -> None:
        """Flush what is in flight and free the client."""


class Wakeup(ABC):
    """Tells the relay new rows were committed."""

    @abstractmethod
    def wait(self, timeout: float) -> bool:
        """Block until a signal or ``timeout`` seconds; True when signalled."""

    @abstractmethod
    def interrupt(self) -> None:
        """Make the wait in progress, or else the next one, return now (any thread)."""

    @abstractmethod
    def close(self) -> None: ...
