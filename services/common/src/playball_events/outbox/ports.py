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
from typing import Any, NamedTuple

from playball_events.outbox.model import headers_of


class OutboxEvent(NamedTuple):
    """A row the relay holds a lease on.

    A named tuple, like the other per-event types here (:class:`OutgoingMessage`,
    :class:`Delivery`): as immutable as a frozen dataclass, but made several times
    faster (a frozen dataclass sets each field through ``object.__setattr__``: 1.2 µs
    for these twelve, against 0.2), and the relays make one per event.
    """

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

    @classmethod
    def from_columns(cls, row: Sequence[Any]) -> "OutboxEvent":
        """An event from an outbox row's columns: ``seq``, the event's own (headers as
        stored, JSON text), ``attempts``; as a claim returns them and as an insert read
        from the log decodes them (``pgoutput.EVENT_COLUMNS``)."""
        (seq, event_id, aggregate_id, version, record_type, topic, subject, payload,
         fingerprint, headers, created_at, attempts) = row  # fmt: skip
        return cls(  # by position: keywords cost a third more, once per event
            seq,
            event_id,
            aggregate_id,
            version,
            record_type,
            topic,
            subject,
            bytes(payload),
            fingerprint,
            headers_of(headers),
            created_at,
            attempts or 0,
        )


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

    def close(self) -> None:  # noqa: B027 - a hook: most stores hold nothing of their own
        """Free what this view of the outbox holds beside the table (called when the
        relay using it stops). The table's own engine lives as long as the process."""


class OutgoingMessage(NamedTuple):
    topic: str
    key: bytes
    value: bytes
    headers: Sequence[tuple[str, bytes]] = ()


class DeliveryOutcome(StrEnum):
    ACKED = "acked"
    RETRIABLE = "retriable"  # not written; try again later
    POSSIBLY_PERSISTED = "possibly_persisted"  # timed out after the send: retry, count dupes
    FATAL = "fatal"  # this message can never be written as it is (too large, invalid)


class Delivery(NamedTuple):
    outcome: DeliveryOutcome
    error: str | None = None
    latency: float | None = None  # seconds from produce to the broker's report


@dataclass(frozen=True, slots=True)
class Deliveries:
    """What became of a batch's messages: every one acked, but those in ``failed``.

    Not a :class:`Delivery` per message: nearly every batch is acked whole, and the relay
    would make (and then look through) one object per event to learn that.
    """

    count: int  # messages in the batch
    failed: dict[int, Delivery] = field(default_factory=dict)  # by the message's position
    # seconds from produce to the broker's ack, of the acked messages, in no set order
    latencies: list[float] = field(default_factory=list)


class PendingDeliveries(ABC):
    """Messages handed to the client whose reports are still coming."""

    @abstractmethod
    def wait(self) -> Deliveries:
        """What became of each message; returns when every one is known."""


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


# -- log-based capture (the ``wal`` relay, :mod:`.wal_relay`) ------------------------------


@dataclass(frozen=True, slots=True)
class CapturedBatch:
    """Committed transactions read from the log, in commit order: whole, and at the end
    perhaps a part of one too large to hold at once (the log sends a transaction only
    once it has committed, so a part may go out before the rest is read)."""

    events: list[OutboxEvent]
    # Everything up to here was read: once these events are settled, confirming it lets
    # the server drop the log before it. Never inside a transaction.
    position: int
    # how far behind the log's end the reader is (the last commit's age); None: unknown
    lag_seconds: float | None = None
    # the id of each event's inserting transaction (parallel to ``events``): what tells
    # a row deleted since from one not visible yet (:meth:`CaptureStore.stream_verdicts`)
    xids: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SlotStatus:
    name: str
    active_pid: int | None  # the process streaming from it; None when nobody is
    wal_status: str  # reserved / extended / unreserved / lost (pg_replication_slots)
    lag_bytes: int | None  # the log written since its confirmed position
    retained_bytes: int | None  # the log it holds back on the server's disk


class SlotBusyError(Exception):
    """Another relay streams from the slot; this one waits as its standby."""

    def __init__(self, slot: str, active_pid: int | None) -> None:
        super().__init__(f"replication slot {slot!r} is in use by process {active_pid}")
        self.active_pid = active_pid


class SlotLostError(Exception):
    """The server gave the slot up (it held more log than ``max_slot_wal_keep_size``):
    events committed since its position can no longer be read from the log."""


class ChangeStream(ABC):
    """The outbox's inserts as the database's log holds them, through a replication slot."""

    @abstractmethod
    def open(self) -> bool:
        """Start streaming (creating the slot if missing); True when it was created now.

        Raises :class:`SlotBusyError` when another process streams from the slot,
        :class:`SlotLostError` when the slot is lost, :class:`StoreUnavailableError`
        when the database does not answer.
        """

    @abstractmethod
    def read(self, max_events: int, timeout: float) -> CapturedBatch:
        """The committed transactions available within ``timeout`` seconds, whole, up to
        about ``max_events`` events (a larger transaction comes whole, unless it is too
        large to hold at once: then in parts, the position moving only with its end)."""

    @abstractmethod
    def confirm(self, position: int) -> None:
        """Everything up to ``position`` is settled: the slot may move past it."""

    @abstractmethod
    def close(self) -> None: ...


class SlotMonitor(ABC):
    """The slot as the server reports it (pg_replication_slots)."""

    @abstractmethod
    def status(self) -> SlotStatus | None:
        """None when the slot does not exist."""

    @abstractmethod
    def close(self) -> None:
        """Free what looking held (a connection); the next look opens it again."""


class CaptureStore(OutboxStore):
    """The outbox table as the log-based relay uses it, beside the log itself.

    The log carries each row once, at its insert; the table remains the record of what
    happened to it. Rows the stream cannot send now (their user is *held*: an earlier
    event of theirs is parked or waiting for a retry) are deferred in the table and sent
    from there, by the same claim the polling relay uses, restricted to the held users.
    """

    @abstractmethod
    def stream_verdicts(
        self, seqs: Sequence[int], xids: Sequence[int]
    ) -> tuple[set[int], set[str]]:
        """Of these freshly read rows (``xids``: each one's inserting transaction): which
        the stream may send (still pending, not leased, not deferred), and the users
        whose other rows are in the table's hands (deferred, leased or parked), to be
        held. Rows already sent, kept or removed, are in neither."""

    @abstractmethod
    def remove_streamed(self, events: Sequence[OutboxEvent]) -> None:
        """Record the broker's ack of rows the stream sent by deleting them: the log and
        the slot's position are the record of what the stream delivered, so nothing is
        kept for the retention (a replay recognises a row gone as sent)."""

    @abstractmethod
    def held_users(self, among: Sequence[str] | None = None) -> set[str]:
        """Users with a row the stream must not overtake: parked (with its payload), or
        pending but deferred or leased. ``among``: only these users, and then any unsent
        row counts (the check that releases a held user)."""

    @abstractmethod
    def every_unsent_user(self) -> set[str]:
        """Users with any unsent row: when a slot is created, the log holds none of
        their rows, so all of them are the table's to send."""

    @abstractmethod
    def claim_held(
        self, relay_id: str, users: Sequence[str], limit: int, lease: timedelta
    ) -> list[OutboxEvent]:
        """:meth:`OutboxStore.claim_batch`, restricted to ``users``."""

    @abstractmethod
    def defer(self, retries: Sequence[Retry], *, failed: bool) -> None:
        """Leave streamed rows to the table, to be claimed at ``not_before``; ``failed``
        counts an attempt (a delivery failed) rather than a wait behind an earlier event."""

    @abstractmethod
    def park_streamed(self, event: OutboxEvent, reason: str) -> None:
        """:meth:`OutboxStore.park` for a row read from the log (which nobody leases)."""
