"""The outbox relay: claim a batch, add the schema header, publish, mark sent after the ack.

At least once, per user in order:

- the store only hands out a user's events together with every earlier unsent one, and
  the batch goes through one idempotent producer in claim order, so on the topic the
  first occurrence of each user's versions strictly increases;
- a row is marked sent only after the broker's ack, and no database transaction is open
  while the broker works (claim, then publish, then mark: three short transactions);
- a crash at any point leaves rows leased, and an expired lease makes them claimable
  again: the worst outcome is a duplicate, which consumers drop by event id.

Between rounds the relay also appends roll markers to its topics' partitions when they
are due (:mod:`playball_events.roll_markers`), so compaction can erase a deleted user's
events from a partition nobody writes to any more.

An undeliverable event is parked with its reason; the rest of its user's events in the
batch are handed back untried, and the store will not hand them out again until an
operator retries the parked one. Everything else that fails (broker, registry, database)
is retried with exponential backoff and jitter, forever, and the relay resumes by itself.
After a database failure it first gives back the rows still leased to it that it is not
sending (a claim whose answer was lost), so they do not wait out the lease.
"""

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from playball_core.registry import RegistryError

from playball_events.lifecycle import Backoff, Lifecycle, Stoppable
from playball_events.outbox.metrics import RelayMetrics
from playball_events.outbox.ports import (
    Deliveries,
    DeliveryOutcome,
    EventPublisher,
    OutboxEvent,
    OutboxStatus,
    OutboxStore,
    OutgoingMessage,
    PendingDeliveries,
    RelayLeaseHeldError,
    Retry,
    StoreUnavailableError,
    Wakeup,
)
from playball_events.outbox.schema_ids import (
    SchemaHeaders,
    UndeliverableEventError,
    message_key,
    uuid_text,
)
from playball_events.roll_markers import RollMarking

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RelayConfig:
    batch_size: int = 2000
    poll_interval: float = 0.5  # seconds between polls when no NOTIFY arrives
    lease: timedelta = timedelta(seconds=60)  # longer than the producer's delivery timeout
    retention: timedelta = timedelta(hours=24)  # how long sent rows are kept
    cleanup_interval: float = 60.0
    cleanup_batch: int = 1000
    cleanup_max_batches: int = 20  # per round, so cleanup never holds up delivery long
    status_interval: float = 5.0  # how often the backlog gauges are refreshed
    backoff_initial: float = 0.1
    backoff_max: float = 30.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def outgoing_message(headers: SchemaHeaders, event: OutboxEvent) -> OutgoingMessage:
    """The Kafka message of an outbox event: its key, the schema header, its headers.

    Raises :class:`UndeliverableEventError` (park it) or ``RegistryError`` (retry later).
    """
    kafka_headers = [
        ("event_id", uuid_text(event.event_id)),
        ("event_type", event.record_type.encode()),
        ("user_version", str(event.aggregate_version).encode()),
    ]
    if event.headers:  # most events carry none: skip the generator
        kafka_headers.extend((name, value.encode()) for name, value in event.headers.items())
    # by position (topic, key, value, headers): keywords cost a named tuple twice as much
    return OutgoingMessage(
        event.topic, message_key(event), headers.header(event) + event.payload, kafka_headers
    )


def log_parking(relay_id: str, event: OutboxEvent, reason: str) -> None:
    log.error(
        "outbox relay %s: parking event %s (user %s v%d): %s",
        relay_id,
        event.event_id,
        event.aggregate_id,
        event.aggregate_version,
        reason,
    )


@dataclass(slots=True)
class DeliveryReport:
    """What the broker said of a batch, sorted: acked, refused for good (to park), or to
    try again later (with a backoff by the event's attempts)."""

    acked: list[OutboxEvent] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    refused: list[tuple[OutboxEvent, str]] = field(default_factory=list)
    retries: list[Retry] = field(default_factory=list)
    possibly_persisted: int = 0

    @classmethod
    def of(
        cls,
        events: Sequence[OutboxEvent],
        deliveries: Deliveries,
        backoff: Backoff,
        now: datetime,
    ) -> "DeliveryReport":
        if deliveries.count != len(events):
            msg = f"{deliveries.count} delivery reports for a batch of {len(events)} events"
            raise ValueError(msg)
        report = cls(latencies=deliveries.latencies)
        if not deliveries.failed:  # all acked, nearly always: no sorting event by event
            report.acked = list(events)
            return report
        for position, event in enumerate(events):
            delivery = deliveries.failed.get(position)
            if delivery is None:
                report.acked.append(event)
            elif delivery.outcome is DeliveryOutcome.FATAL:
                report.refused.append((event, f"the broker refused it: {delivery.error}"))
            else:
                report.possibly_persisted += delivery.outcome is DeliveryOutcome.POSSIBLY_PERSISTED
                reason = f"{delivery.outcome.value}: {delivery.error}"
                not_before = now + timedelta(seconds=backoff.delay(event.attempts))
                report.retries.append(Retry(event, reason, not_before))
        return report

    def record_retries(self, metrics: RelayMetrics) -> None:
        metrics.record_retries("possibly_persisted", self.possibly_persisted)
        metrics.record_retries("broker", len(self.retries) - self.possibly_persisted)

    def failure_summary(self, sent: int) -> str:
        return f"{len(self.retries)} of {sent} deliveries failed: {self.retries[0].reason}"


class OutboxRelay(Stoppable):
    def __init__(
        self,
        store: OutboxStore,
        publisher: EventPublisher,
        headers: SchemaHeaders,
        wakeup: Wakeup,
        *,
        relay_id: str,
        config: RelayConfig | None = None,
        metrics: RelayMetrics | None = None,
        marking: RollMarking | None = None,
        now: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        lifecycle: Lifecycle | None = None,
        beside: Callable[[Callable[[], OutboxStatus]], Future[OutboxStatus]] | None = None,
    ) -> None:
        """``beside`` runs the outbox's status query (for the gauges) off this loop's
        thread and gives its future: the log-based relay's side thread, whose loop is
        busy with the log (None: on this thread, between rounds)."""
        self.store = store
        self.publisher = publisher
        self.headers = headers
        self.wakeup = wakeup
        self.relay_id = relay_id
        self.config = config or RelayConfig()
        self.metrics = metrics or RelayMetrics()
        self.marking = marking  # roll markers on the topics; None: not this relay's job
        self._now = now
        self._monotonic = monotonic
        # Jittered: relays that failed together (a broker outage) do not return together.
        # Its failures are consecutive failed rounds: how long the relay backs off.
        # Given when this relay works inside another loop (the log-based relay's catch-up),
        # whose stop must also end this one's pauses.
        self._lifecycle = lifecycle or Lifecycle(
            Backoff(self.config.backoff_initial, self.config.backoff_max, rng)
        )
        self._may_hold_orphans = False  # a round failed: rows may be leased to nobody here
        # What a round may count as a success (which ends a run of failures and resets the
        # backoff): none paused in it, on any thread; and the last batch settled was
        # delivered whole. Sending a batch proves nothing of the broker: its deliveries
        # come in on the settling thread, in the round after.
        self._paused_in_round = False
        self._deliveries_failing = False
        # Held while a failure is counted (either thread) and while a round counts its
        # success: a failure of the batch settling meanwhile is never lost to the reset.
        self._outcome = threading.Lock()
        self._next_cleanup = 0.0
        self._next_status = 0.0
        self._beside = beside
        self._status_query: Future[OutboxStatus] | None = None  # running beside
        self._settler = ThreadPoolExecutor(1, thread_name_prefix="outbox-settle")
        self._settling: Future[None] | None = None
        self._claimer = ThreadPoolExecutor(1, thread_name_prefix="outbox-claim")
        self._claiming: Future[list[OutboxEvent]] | None = None  # the next batch, claimed ahead

    # -- lifecycle ------------------------------------------------------------------------

    def run(self) -> None:
        log.info("outbox relay %s started", self.relay_id)
        self._lifecycle.run(self._cycle, self._shutdown)

    def _cycle(self) -> None:
        claimed = self._round()
        self.housekeeping()
        # Less than a full batch: the outbox held no more. Wait for what can bring more: a
        # commit's wake-up, the batch in flight settled (it interrupts the wait, releasing
        # its users' later events) or the poll. A full batch, or a failed round (it paused
        # already), goes straight on.
        if 0 <= claimed < self.config.batch_size and not self._lifecycle.stopping:
            self.wakeup.wait(self.config.poll_interval)

    def _round(self) -> int:
        """One batch, failures turned into a backoff pause; how many events it claimed."""
        self._paused_in_round = False
        try:
            if self._may_hold_orphans:
                self._release_orphans()
            claimed = self.run_once()
        except (StoreUnavailableError, RelayLeaseHeldError) as exc:
            if isinstance(exc, StoreUnavailableError):
                self._may_hold_orphans = True
            self._pause(f"{type(exc).__name__}: {exc}")
            return -1
        with self._outcome:
            if self._paused_in_round or self._deliveries_failing:
                return claimed  # no success: the failures in a row grow the next pause
            recovered = self._lifecycle.succeeded()
        if recovered:
            log.info("outbox relay %s: recovered", self.relay_id)
        return claimed

    def _release_orphans(self) -> None:
        """Give back the rows leased to this relay that nobody here is going to send.

        A round that failed on the database can leave some behind: a claim that committed
        on the server but whose answer was lost with the connection, a batch claimed just
        before parking or giving back failed. Left alone they wait out the whole lease,
        and hold back every later event of their users. Once nothing of this relay is in
        flight (the claim ahead finished, the batch being settled recorded), every row
        still leased to it is such an orphan.
        """
        self._drop_claim_ahead()
        self.settle()
        self.store.release(self.relay_id)
        self._may_hold_orphans = False
        log.info("outbox relay %s: gave back the claims a failure left behind", self.relay_id)

    def _pause(self, reason: str) -> None:
        with self._outcome:
            self._paused_in_round = True
            delay = self._lifecycle.failed()
        log.warning("outbox relay %s: %s; next try in %.2f s", self.relay_id, reason, delay)
        self._lifecycle.pause(delay)

    def _shutdown(self) -> None:
        try:
            try:
                self.settle()  # the batch in flight: its acks awaited and recorded
            except StoreUnavailableError as exc:
                log.warning("outbox relay %s: last acks not recorded: %s", self.relay_id, exc)
            self._drop_claim_ahead()  # its rows are released with the rest below
            self.close()
            self.publisher.close()
        finally:
            try:
                self.store.release(self.relay_id)
            except StoreUnavailableError as exc:  # the leases expire by themselves
                log.warning("outbox relay %s: claims not released: %s", self.relay_id, exc)
            self.wakeup.close()
            self.store.close()  # what its view holds besides (a slot monitor's connection)
            log.info("outbox relay %s stopped", self.relay_id)

    # -- one batch ------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim and send one batch; the number of events claimed.

        The batch is settled (acks awaited, rows marked sent) by the settling thread while
        this one claims the next batch: database and broker work overlap. After a full
        batch the next one is claimed ahead, on the claiming thread, while this one is
        prepared and sent. At most one batch settles and one is claimed ahead at a time.
        No claim can take any later event of a user in flight or claimed ahead: those rows
        are still leased, and the store only hands out a user's prefix.
        """
        events = self._claim()
        while not events:
            settling = self._settling
            if settling is None or self._lifecycle.stopping:
                self.settle()
                return 0
            # What is in flight may be all that holds the rest back (a user's later
            # versions wait for its earlier ones), but other users' new rows need not wait
            # for its acks: look again on whichever comes first, new rows (a wake-up) or
            # the batch settled (its done-callback interrupts the wait).
            if not settling.done():
                self.wakeup.wait(self.config.poll_interval)
            if settling.done():
                self.settle()
            events = self._claim()
        if len(events) >= self.config.batch_size and not self._lifecycle.stopping:
            self.settle()
            # A full batch: more is likely waiting. Claim the next one while this one is
            # prepared and sent (the claim mostly waits on the database). Safe as any
            # claim: this batch's rows are leased, so the next claim takes none of its
            # users' later events.
            self._claiming = self._claimer.submit(
                self.store.claim_batch, self.relay_id, self.config.batch_size, self.config.lease
            )
        to_send, messages = self._prepare(events)
        if not to_send:
            return len(events)
        try:
            pending = self.publisher.send(messages)
        except Exception as exc:  # a broken client: give everything back, back off
            log.exception("outbox relay %s: send failed", self.relay_id)
            self.settle()
            self._retry_later(to_send, f"send: {type(exc).__name__}: {exc}", "publish_error")
            return len(events)
        try:
            self.settle()  # the batch before this one
        finally:
            # Tracked even when settling the one before failed: this batch is with the
            # producer, so its acks must still be recorded, and its rows must not be
            # given back as orphans while it may be delivered.
            self._settling = self._settler.submit(self._deliver, to_send, pending)
            self._settling.add_done_callback(lambda _done: self.wakeup.interrupt())
        return len(events)

    def _claim(self) -> list[OutboxEvent]:
        """The next batch (claimed ahead, or now); a failed claim settles what is in flight."""
        claiming, self._claiming = self._claiming, None
        try:
            if claiming is not None:
                return claiming.result()  # re-raises what the claim raised (a database outage)
            return self.store.claim_batch(self.relay_id, self.config.batch_size, self.config.lease)
        except BaseException:
            self.settle()
            raise

    def drain(self) -> None:
        """Settle the batch in flight and wait for a claim made ahead (its rows stay
        leased: :meth:`OutboxStore.release` gives them back)."""
        self.settle()
        self._drop_claim_ahead()

    def close(self) -> None:
        """End the settling and claiming threads (after :meth:`drain`, or a stop)."""
        self._settler.shutdown()
        self._claimer.shutdown()

    def _drop_claim_ahead(self) -> None:
        """Wait for a claim made ahead to finish; its rows stay leased to this relay."""
        claiming, self._claiming = self._claiming, None
        if claiming is not None:
            try:
                claiming.result()
            except (StoreUnavailableError, RelayLeaseHeldError) as exc:
                log.warning("outbox relay %s: claim ahead failed: %s", self.relay_id, exc)

    def settle(self) -> None:
        """Wait until the batch in flight is acked (or given back) and recorded."""
        settling, self._settling = self._settling, None
        if settling is not None:
            settling.result()  # re-raises what settling raised (a database outage)

    def _prepare(
        self, events: list[OutboxEvent]
    ) -> tuple[list[OutboxEvent], list[OutgoingMessage]]:
        to_send: list[OutboxEvent] = []
        messages: list[OutgoingMessage] = []
        held: list[OutboxEvent] = []  # later events of a user parked in this batch
        blocked: set[str] = set()
        for index, event in enumerate(events):
            if event.aggregate_id in blocked:
                held.append(event)
                continue
            try:
                messages.append(self._message(event))
            except UndeliverableEventError as exc:
                self._park(event, str(exc))
                blocked.add(event.aggregate_id)
                continue
            except RegistryError as exc:
                # The registry is down: nothing can get a header, give everything back.
                rest = [e for e in events[index:] if e.aggregate_id not in blocked]
                self._retry_later([*to_send, *rest], f"registry: {exc}", "registry")
                messages.clear()
                to_send.clear()
                break
            to_send.append(event)
        if held:
            self.store.release(self.relay_id, held)
        return to_send, messages

    def _message(self, event: OutboxEvent) -> OutgoingMessage:
        return outgoing_message(self.headers, event)

    def _park(self, event: OutboxEvent, reason: str) -> None:
        log_parking(self.relay_id, event, reason)
        self.store.park(self.relay_id, event, reason)
        self.metrics.record_parked()

    def _deliver(self, events: list[OutboxEvent], pending: PendingDeliveries) -> None:
        report = DeliveryReport.of(events, pending.wait(), self._lifecycle.backoff, self._now())
        for event, reason in report.refused:
            self._park(event, reason)
        self._settle(report.acked)
        self.metrics.record_delivered(len(report.acked), report.latencies)
        with self._outcome:
            self._deliveries_failing = bool(report.retries)
        if report.retries:
            self.store.reschedule(self.relay_id, report.retries)
            report.record_retries(self.metrics)
            self._pause(report.failure_summary(len(events)))

    def _retry_later(self, events: Sequence[OutboxEvent], reason: str, kind: str) -> None:
        if not events:
            return
        now = self._now()
        retries = [
            Retry(e, reason, now + timedelta(seconds=self._lifecycle.backoff.delay(e.attempts)))
            for e in events
        ]
        self.store.reschedule(self.relay_id, retries)
        self.metrics.record_retries(kind, len(retries))
        self._pause(reason)

    def _settle(self, acked: list[OutboxEvent]) -> None:
        """Mark acked events sent, riding out a database outage while the lease lasts.

        Giving up only costs duplicates: the rows are resent when their lease expires.
        """
        if not acked:
            return
        deadline = self._monotonic() + self.config.lease.total_seconds()
        attempt = 0
        while True:
            try:
                self.store.mark_sent(acked)
                return
            except StoreUnavailableError as exc:
                if self._monotonic() >= deadline:
                    log.warning("outbox relay %s: acks not recorded: %s", self.relay_id, exc)
                    return
                delay = self._lifecycle.backoff.delay(attempt)
                attempt += 1
                log.warning("outbox relay %s: marking sent failed (%s)", self.relay_id, exc)
                time.sleep(delay)  # not interruptible: the acks must be recorded first

    # -- housekeeping ---------------------------------------------------------------------

    def housekeeping(self) -> None:
        if self.marking is not None:
            self.marking.tick()  # never raises: a failed round is logged and retried
        now = self._monotonic()
        try:
            query = self._status_query
            if query is not None and query.done():
                self._status_query = None
                self.metrics.record_status(query.result())
            if now >= self._next_status and self._status_query is None:
                self._next_status = now + self.config.status_interval
                if self._beside is None:
                    self.metrics.record_status(self.store.status(parked_limit=0))
                else:
                    self._status_query = self._beside(lambda: self.store.status(parked_limit=0))
            if now >= self._next_cleanup:
                self._next_cleanup = now + self.config.cleanup_interval
                removed = self.store.cleanup(
                    self.config.retention,
                    self.config.cleanup_batch,
                    self.config.cleanup_max_batches,
                )
                if removed:
                    log.info("outbox relay %s: removed %d sent rows", self.relay_id, removed)
        except StoreUnavailableError as exc:
            log.warning("outbox relay %s: housekeeping skipped: %s", self.relay_id, exc)
