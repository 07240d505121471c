"""The log-based outbox relay: the outbox's inserts read from PostgreSQL's WAL.

The same guarantees as the polling relay (:mod:`.relay`), without a claim or a lease per
event, without polling and without ``NOTIFY``:

- **At least once.** A position of the log is confirmed to the slot only once every event
  before it is settled: acked by the broker and its row removed, or handed to the table
  (parked, or deferred: see below). After a crash or a reconnect the server resends from
  the confirmed position; rows already sent are recognised by one query per batch
  (:meth:`CaptureStore.stream_verdicts`: a row gone whose transaction is visible was
  sent) and not sent again.
- **Per-user order.** The log is in commit order, and a batch goes through one idempotent
  producer in that order. A batch goes out while earlier ones await their acks only if
  it shares no user with them (at most ``WalConfig.max_in_flight`` at once); otherwise
  they are settled first. So the fate of every earlier event of a user is known before
  a later one goes out.
- **A poison event** is parked; its user is then *held*: that user's later events are
  deferred to the table instead of sent, and the table's claim (the polling relay's,
  restricted to held users, run here every poll interval) sends them once the parked
  one is retried. A delivery that fails is deferred the same way, with a backoff. Other
  users' events keep flowing from the log. A user is freed once it has no unsent row.
- **Several relays.** One streams; the others wait as standbys, looking at the slot's
  ``active_pid`` every second, and the first to find it free streams next.

The rows stay in the table until sent: the relay deletes acked rows (one statement per
``WalConfig.mark_linger`` or per batch, see :class:`_Recorder`) instead of marking them
sent for the cleanup, since the log and the slot's position are the record of what the
stream delivered. Rows the table sends (held users', a polling relay's) are marked sent
and kept for the retention as ever. Unsent rows stay, so ``outbox status``, ``outbox
retry`` and parking work as with polling.
"""

import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar, cast

from playball_core.registry import RegistryError

from playball_events.lifecycle import Backoff, Lifecycle, Stoppable
from playball_events.outbox.metrics import RelayMetrics
from playball_events.outbox.ports import (
    CapturedBatch,
    CaptureStore,
    ChangeStream,
    EventPublisher,
    OutboxEvent,
    OutgoingMessage,
    PendingDeliveries,
    Retry,
    SlotBusyError,
    SlotMonitor,
    StoreUnavailableError,
    Wakeup,
)
from playball_events.outbox.relay import (
    DeliveryReport,
    OutboxRelay,
    RelayConfig,
    log_parking,
    outgoing_message,
)
from playball_events.outbox.schema_ids import SchemaHeaders, UndeliverableEventError
from playball_events.outbox.views import HeldUsersView
from playball_events.roll_markers import RollMarking

log = logging.getLogger(__name__)

_T = TypeVar("_T")
# an event's message, or why it has none
_Made = OutgoingMessage | UndeliverableEventError | RegistryError

WAITING = "waiting behind an earlier event of its user (parked or retrying)"
STANDBY_POLL = 1.0  # seconds between a standby's looks at the slot
# read timeout while batches await their acks: only what is buffered, then they are
# settled (waiting on the stream would leave acks unnoticed, rows unremoved)
IN_FLIGHT_READ = 0.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WalConfig:
    relay: RelayConfig
    # warn when the slot holds back more log than this (the server gives the slot up
    # at its max_slot_wal_keep_size)
    max_retained_bytes: int = 512 * 1024 * 1024
    # seconds acks are gathered before their rows are removed with one DELETE (_Recorder)
    mark_linger: float = 0.1
    # batches with the producer at once, their users disjoint: a backlog goes out while
    # the broker acks what came before, instead of waiting for each batch's acks in turn
    max_in_flight: int = 4


@dataclass(slots=True)
class _InFlight:
    events: list[OutboxEvent]
    pending: PendingDeliveries | None  # None: nothing was sent (the position waits its turn)
    position: int  # confirmed once these are settled
    users: frozenset[str]  # whose events these are: none of theirs goes out meanwhile


_Verdicts = tuple[set[int], set[str]]  # CaptureStore.stream_verdicts: deliverable, held


def _run_here(work: Callable[[], _T]) -> Future[_T]:
    """``work()`` run at once on this thread, as a future (as the side thread's are)."""
    future: Future[_T] = Future()
    try:
        future.set_result(work())
    except StoreUnavailableError as exc:
        future.set_exception(exc)
    return future


@dataclass(slots=True)
class _Checked:
    """A batch read: its events' messages and users, and the check of its rows (on the
    side thread for a full batch)."""

    batch: CapturedBatch
    made: list[_Made]  # each event's message, or why it has none
    users: frozenset[str]  # whose events these are
    verdicts: Future[_Verdicts]
    # the relay's count of catch-up claims when the check was asked for: a claim since
    # may have sent some of the batch's rows, and the check is then run again
    catch_ups: int


class _Recorder:
    """Records acked batches (deletes their rows) on its own thread, in order, while the
    relay reads and sends the next ones; a batch's position may be confirmed once its
    rows are gone.

    The database's work (the DELETE of a batch's rows) then overlaps the relay's own
    (reading, decoding, producing) instead of stalling it. A DELETE, not the polling
    relay's mark-sent UPDATE: no new row version and no index entries for it, which
    measured 11.0 -> 4.6 µs of PostgreSQL's CPU per event (scripts/bench_relay.py).

    Acks are gathered for up to ``linger`` seconds (or until ``batch`` of them wait) and
    recorded with one DELETE: at a low rate a batch is one event, and a statement per
    event cost the relay, PostgreSQL and its log more than sending the event did. A
    record only notes what the broker already holds, so waiting delays nothing
    downstream; the price is that a relay killed meanwhile sends those events again (at
    least once).
    """

    def __init__(
        self,
        store: CaptureStore,
        *,
        background: bool = True,
        linger: float = 0.0,
        batch: int = 1,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.linger = linger
        self.batch = batch
        self._monotonic = monotonic
        # background=False marks at once, on the caller's thread (unit tests, step by step)
        self._executor = (
            ThreadPoolExecutor(1, thread_name_prefix="outbox-mark") if background else None
        )
        self._queue: deque[tuple[Future[None], int]] = deque()
        # acks gathered, not yet handed to the executor, and the position they complete
        self._gathered: list[OutboxEvent] = []
        self._gathered_position: int | None = None
        self._gathering_since = 0.0

    def record(self, acked: list[OutboxEvent], position: int) -> None:
        """Mark ``acked`` sent; ``position`` is confirmable once that is done (and every
        batch recorded before it)."""
        if self._gathered_position is None:
            self._gathering_since = self._monotonic()
        self._gathered.extend(acked)
        self._gathered_position = position
        self._hand_over(due_only=True)

    def due_in(self) -> float | None:
        """Seconds until the gathered acks are due to be marked; None if none wait."""
        if self._gathered_position is None:
            return None
        return max(0.0, self._gathering_since + self.linger - self._monotonic())

    def _hand_over(self, *, due_only: bool) -> None:
        """Give the gathered acks to the executor: all of them, or only once due."""
        position = self._gathered_position
        if position is None:
            return
        if due_only and len(self._gathered) < self.batch and self.due_in():
            return
        acked, self._gathered, self._gathered_position = self._gathered, [], None
        if self._executor is not None:
            future = self._executor.submit(self.store.remove_streamed, acked)
        else:
            future = _run_here(lambda: self.store.remove_streamed(acked))
        self._queue.append((future, position))

    def recorded(self, *, wait: bool = False) -> int | None:
        """The last position whose batch, and every one before it, is marked; None if none
        is yet. ``wait`` marks what is gathered now and waits for it. Raises what marking
        raised (StoreUnavailableError): then nothing after the last confirmable position
        may be confirmed, the stream is read again."""
        self._hand_over(due_only=not wait)
        position = None
        while self._queue and (wait or self._queue[0][0].done()):
            future, at = self._queue.popleft()
            future.result()
            position = at
        return position

    def forget(self) -> None:
        """After a failure: mark what was gathered (acked, so a replay must recognise it)
        and wait for the marks under way, whatever became of them; their positions are
        not confirmed (the reopened stream sends what they held again)."""
        self._hand_over(due_only=False)
        while self._queue:
            future, _at = self._queue.popleft()
            try:
                future.result()
            except StoreUnavailableError as exc:
                log.warning("outbox relay: acks not recorded: %s", exc)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()


class _NoWakeup(Wakeup):
    """The catch-up claim runs when the log relay decides; it never waits for a signal."""

    def wait(self, timeout: float) -> bool:  # noqa: ARG002 - never waits
        return False

    def interrupt(self) -> None:
        """Nothing waits."""

    def close(self) -> None:
        """Nothing to free."""


class WalOutboxRelay(Stoppable):
    def __init__(
        self,
        stream: ChangeStream,
        store: CaptureStore,
        slots: SlotMonitor,
        publisher: EventPublisher,
        headers: SchemaHeaders,
        *,
        relay_id: str,
        config: WalConfig | None = None,
        metrics: RelayMetrics | None = None,
        marking: RollMarking | None = None,
        now: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        in_background: bool = True,
    ) -> None:
        """``in_background=False`` runs on the calling thread, in turn, what the side
        thread (the checks of full batches, the start's queries, the status for the
        gauges) and the recorder (the removal of acked rows) run otherwise: unit tests,
        step by step."""
        self.stream = stream
        self.store = store
        self.slots = slots
        self.publisher = publisher
        self.headers = headers
        self.relay_id = relay_id
        self.config = config or WalConfig(RelayConfig())
        self.metrics = metrics or RelayMetrics()
        self._now = now
        self._monotonic = monotonic
        relay = self.config.relay
        self._lifecycle = Lifecycle(Backoff(relay.backoff_initial, relay.backoff_max, rng))
        self._streaming = False
        self._standby_since: float | None = None
        # Replaced, never changed in place: the catch-up's claim ahead reads it on its
        # own thread while this one goes on.
        self._held: frozenset[str] = frozenset()
        # the held users being found as the stream starts (see _start_streaming), on the
        # side thread, which also checks each batch's rows (see _round)
        self._starting: Future[frozenset[str]] | None = None
        self._side = (
            ThreadPoolExecutor(1, thread_name_prefix="outbox-side") if in_background else None
        )
        # Batches with the producer, oldest first. A batch goes out while earlier ones
        # await their acks only if it shares no user with them (so a user's earlier fate
        # is always known before its next event is sent), and at most max_in_flight at once.
        self._flights: deque[_InFlight] = deque()
        # A full batch read, its check under way, sent in the next round (see _round).
        self._ahead: _Checked | None = None
        self._recorder = _Recorder(
            store,
            background=in_background,
            linger=self.config.mark_linger,
            batch=self.config.relay.batch_size,
            monotonic=monotonic,
        )
        self._next_catch_up = 0.0
        self._catch_ups = 0  # catch-up claims run so far (see _Checked.catch_ups)
        self._next_slot_check = 0.0
        # The held users' rows go out through the polling relay's own loop, over a view
        # of the table that only claims theirs; it shares this relay's producer, its
        # stop and its housekeeping (status gauges, cleanup, roll markers).
        self._catch_up = OutboxRelay(
            HeldUsersView(store, lambda: self._held),
            publisher,
            headers,
            _NoWakeup(),
            relay_id=relay_id,
            config=relay,
            metrics=self.metrics,
            marking=marking,
            now=now,
            monotonic=monotonic,
            rng=rng,
            lifecycle=self._lifecycle,
            beside=self._beside,
        )

    # -- lifecycle ------------------------------------------------------------------------

    def run(self) -> None:
        """Stream until stopped. Raises :class:`~.ports.SlotLostError` when the slot is lost."""
        log.info("outbox relay %s started (log-based capture)", self.relay_id)
        self._lifecycle.run(self._cycle, self._shutdown)

    def _cycle(self) -> None:
        try:
            streaming = self._streaming or self._start_streaming()
            # a round whose batch before failed has paused: no success to count
            if streaming and self._round() and self._lifecycle.succeeded():
                log.info("outbox relay %s: recovered", self.relay_id)
        except StoreUnavailableError as exc:
            self._stream_lost()
            self._pause(f"{type(exc).__name__}: {exc}")
        except RegistryError as exc:
            # nothing of the batch was written: read it again from the log after a pause
            self._stream_lost()
            self.metrics.record_retries("registry", 1)
            self._pause(f"registry: {exc}")
        self._housekeeping()

    def _start_streaming(self) -> bool:
        """Open the stream, or wait one standby poll when another relay holds the slot."""
        status = self.slots.status()
        if status is not None and status.active_pid is not None:
            self._standby(status.active_pid)
            return False
        try:
            created = self.stream.open()
        except SlotBusyError as exc:
            self._standby(exc.active_pid)
            return False
        self._catch_up.drain()
        # The table's queries for the held users run beside the first read: on a backlog
        # the server decodes the log's first transaction for tens of milliseconds before
        # its first event arrives, and the relay decodes it for as long again.
        self._starting = self._beside(lambda: self._held_at_start(created))
        self._streaming = True
        self._next_catch_up = 0.0
        self.metrics.record_standby(False)
        waited = (
            f" after {self._monotonic() - self._standby_since:.1f} s as a standby"
            if self._standby_since is not None
            else ""
        )
        self._standby_since = None
        log.info(
            "outbox relay %s: streaming%s%s",
            self.relay_id,
            " from a new slot" if created else "",
            waited,
        )
        return True

    def _held_at_start(self, created: bool) -> frozenset[str]:
        """Users whose rows the table holds (parked, deferred, leased) stay the table's;
        with a slot created just now, the log holds none of the rows before it. What a
        failure left leased to this relay (a catch-up claim whose answer was lost) goes
        back first: leased rows hold their users until the lease ends."""
        self.store.release(self.relay_id)
        return frozenset(self.store.every_unsent_user() if created else self.store.held_users())

    def _beside(self, work: Callable[[], _T]) -> Future[_T]:
        """``work()`` on the side thread (at once, here, without one): the table's queries
        the relay needs the answer of a little later."""
        if self._side is not None:
            return self._side.submit(work)
        return _run_here(work)

    def _started(self) -> None:
        """Take the held users the start found (waiting for them if need be), before the
        first batch is checked; raises what finding them raised."""
        starting, self._starting = self._starting, None
        if starting is not None:
            self._held = starting.result()
            log.info("outbox relay %s: %d users held for the table", self.relay_id, len(self._held))

    def _standby(self, active_pid: int | None) -> None:
        if self._standby_since is None:
            self._standby_since = self._monotonic()
            self.metrics.record_standby(True)
            log.info(
                "outbox relay %s: standby, the slot is streamed by process %s; taking over "
                "when it stops",
                self.relay_id,
                active_pid,
            )
        self._lifecycle.pause(STANDBY_POLL)

    def _stream_lost(self) -> None:
        """After a failure: what is in flight is forgotten, not confirmed, so the server
        resends it once the stream is open again (sent rows are then recognised)."""
        self._flights.clear()
        self._recorder.forget()
        ahead, self._ahead = self._ahead, None
        if ahead is not None:  # never sent: read again from the confirmed position
            with contextlib.suppress(StoreUnavailableError):
                ahead.verdicts.result()
        starting, self._starting = self._starting, None
        if starting is not None:  # its answer is of the lost stream's start: not needed
            with contextlib.suppress(StoreUnavailableError):
                starting.result()
        self._streaming = False
        self.stream.close()

    def _pause(self, reason: str) -> None:
        delay = self._lifecycle.failed()
        log.warning("outbox relay %s: %s; next try in %.2f s", self.relay_id, reason, delay)
        self._lifecycle.pause(delay)

    def _shutdown(self) -> None:
        try:
            try:
                if self._streaming:
                    self._settle_all()  # what is in flight: acks awaited, recorded, confirmed
                    self._confirm(wait=True)
                self._catch_up.drain()
            except StoreUnavailableError as exc:
                log.warning("outbox relay %s: last acks not recorded: %s", self.relay_id, exc)
            self.publisher.close()
        finally:
            try:
                self.store.release(self.relay_id)
            except StoreUnavailableError as exc:  # the leases expire by themselves
                log.warning("outbox relay %s: claims not released: %s", self.relay_id, exc)
            self._recorder.forget()
            self._recorder.close()
            self._catch_up.close()
            if self._side is not None:
                self._side.shutdown()
            self.stream.close()
            self.slots.close()
            log.info("outbox relay %s stopped", self.relay_id)

    # -- one round ------------------------------------------------------------------------

    def _round(self) -> bool:
        """Read a batch (the batches in flight get their acks meanwhile) and have its rows
        checked on the side thread; then send it: settle the batches in flight it must
        wait for, let the table send the held users' rows, send. A full batch (a backlog:
        more is buffered) is sent a round later instead, once the next batch is read, so
        that its check runs beside that read rather than before its own send. What is
        recorded by now is confirmed. False when a batch settled here had deliveries fail:
        the round paused, and the failures in a row grow the pause (the round itself
        raising nothing is no recovery)."""
        ahead, self._ahead = self._ahead, None
        waiting = self._flights or ahead is not None
        timeout = IN_FLIGHT_READ if waiting else self.config.relay.poll_interval
        marks_due = self._recorder.due_in()
        if marks_due is not None:  # gathered acks are marked (and confirmed) in time
            timeout = min(timeout, marks_due)
        batch = self.stream.read(self.config.relay.batch_size, timeout)
        self._started()
        if batch.lag_seconds is not None:
            self.metrics.record_slot_lag_seconds(batch.lag_seconds)
        full = len(batch.events) >= self.config.relay.batch_size
        checked = self._checked(batch, beside=full)
        delivered = True
        if ahead is not None:  # read first, sent first
            delivered = self._deliver(ahead)
        if full:
            self._ahead = checked
        else:
            delivered = self._deliver(checked) and delivered
        self._confirm()
        return delivered

    def _checked(self, batch: CapturedBatch, *, beside: bool) -> _Checked:
        """The batch just read, its check asked for, and its messages made at once: its
        events are still in the processor's cache (a full batch is sent a round later,
        after the next batch's decoding has passed through the cache; made then, the
        messages cost more: 56.0k against 59.4k ev/s, A/B in one process)."""
        verdicts = self._check(batch, beside=beside)
        made = [self._message(event) for event in batch.events]
        users = frozenset([e.aggregate_id for e in batch.events])
        return _Checked(batch, made, users, verdicts, self._catch_ups)

    def _check(self, batch: CapturedBatch, *, beside: bool) -> Future[_Verdicts]:
        """The check of what became of the batch's rows: on the side thread for a full
        batch (it runs while the next batch is read), here for a smaller one (at a low
        rate a batch is an event or two, and handing each to the side thread cost the
        relay more CPU than the check itself)."""
        if not batch.events:
            return _run_here(lambda: (set(), set()))
        seqs = [e.seq for e in batch.events]

        def check() -> _Verdicts:
            return self.store.stream_verdicts(seqs, batch.xids)

        return self._beside(check) if beside else _run_here(check)

    def _deliver(self, checked: _Checked) -> bool:
        """Settle the batches in flight the batch must wait for, let the table send the
        held users' rows when due, then send the batch. False when a batch settled here
        had deliveries fail."""
        batch, users = checked.batch, checked.users
        delivered = self._settle_before(batch, users)
        verdicts = checked.verdicts.result()
        if self._held and self._monotonic() >= self._next_catch_up:
            self._next_catch_up = self._monotonic() + self.config.relay.poll_interval
            # Nothing in flight, and the acked rows removed first: the table's claim must
            # not find (and send again) a held user's row the stream sent.
            delivered = self._settle_all() and delivered
            self._confirm(wait=True)
            self._catch_up.run_once()
            self._catch_up.settle()
            self._catch_ups += 1
            self._held = frozenset(self.store.held_users(among=sorted(self._held)))
        if checked.catch_ups != self._catch_ups:
            # A catch-up claim ran since the check (here, or while the batch waited a
            # round): it may have sent rows of users it then freed, which the check saw
            # pending. Checked again, those are sent already, not sent twice.
            verdicts = self._check(batch, beside=False).result()
        self._send(batch, users, checked.made, verdicts)
        return delivered

    def _confirm(self, *, wait: bool = False) -> None:
        position = self._recorder.recorded(wait=wait)
        if position is not None:
            self.stream.confirm(position)

    def _message(self, event: OutboxEvent) -> _Made:
        """The event's message, or why it has none (raised or parked only if the event is
        to be sent: it may prove sent already)."""
        try:
            return outgoing_message(self.headers, event)
        except (UndeliverableEventError, RegistryError) as exc:
            return exc

    def _send(
        self,
        batch: CapturedBatch,
        users: frozenset[str],
        made: list[_Made],
        verdicts: _Verdicts,
    ) -> None:
        deliverable, in_table = verdicts
        if in_table:
            self._held = self._held | in_table
        if (
            len(deliverable) == len(batch.events)
            and (not self._held or self._held.isdisjoint(users))
            and all(type(message) is OutgoingMessage for message in made)
        ):
            # every event to send, as nearly always: no sorting event by event
            self._fly(batch.events, cast(list[OutgoingMessage], made), batch.position, users)
            return
        to_send: list[OutboxEvent] = []
        messages: list[OutgoingMessage] = []
        waiting: list[OutboxEvent] = []
        for event, made_at_read in zip(batch.events, made, strict=True):
            if event.seq not in deliverable:
                continue  # sent already (read again after a reconnect), or the table's
            if event.aggregate_id in self._held:
                waiting.append(event)
                continue
            # made as the batch was read: after a registry failure, asked again (it may
            # answer by now) rather than the batch read again after a pause
            message = (
                self._message(event) if isinstance(made_at_read, RegistryError) else made_at_read
            )
            if isinstance(message, UndeliverableEventError):
                self._park(event, str(message))
                continue
            if isinstance(message, RegistryError):
                raise message  # nothing of the batch was sent: it is read again after a pause
            messages.append(message)
            to_send.append(event)
        if waiting:
            now = self._now()
            self.store.defer([Retry(e, WAITING, now) for e in waiting], failed=False)
        sending = users if len(to_send) == len(batch.events) else None
        self._fly(to_send, messages, batch.position, sending)

    def _fly(
        self,
        events: list[OutboxEvent],
        messages: list[OutgoingMessage],
        position: int,
        users: frozenset[str] | None,
    ) -> None:
        """Send ``events`` (of ``users``, when known), confirmable at ``position`` once
        they and the batches before them are settled."""
        if not events:
            # nothing to await: confirmable once the batches before it are settled
            if self._flights:
                self._flights.append(_InFlight([], None, position, frozenset()))
            else:
                self._recorder.record([], position)
            return
        if users is None:
            users = frozenset([e.aggregate_id for e in events])
        self._flights.append(_InFlight(events, self.publisher.send(messages), position, users))

    def _park(self, event: OutboxEvent, reason: str) -> None:
        log_parking(self.relay_id, event, reason)
        self.store.park_streamed(event, reason)
        self._held = self._held | {event.aggregate_id}
        self.metrics.record_parked()

    def _settle_before(self, batch: CapturedBatch, users: frozenset[str]) -> bool:
        """Settle, oldest first, the batches in flight that must be before ``batch`` (of
        ``users``) goes out: every one up to the last sharing a user with it, and the
        oldest beyond ``max_in_flight``; all of them when it brings nothing (nothing to
        overlap with). False when deliveries failed."""
        if not batch.events:
            return self._settle_all()
        shared = max(
            (i for i, flight in enumerate(self._flights) if not users.isdisjoint(flight.users)),
            default=-1,
        )
        delivered = True
        beyond = len(self._flights) - self.config.max_in_flight + 1
        for _ in range(max(shared + 1, beyond)):
            delivered = self._settle_oldest() and delivered
        return delivered

    def _settle_all(self) -> bool:
        delivered = True
        while self._flights:
            delivered = self._settle_oldest() and delivered
        return delivered

    def _settle_oldest(self) -> bool:
        """Await the oldest batch in flight and record what became of each event; its
        position is confirmable once the recorder has removed its acked rows. False when
        deliveries failed."""
        flight = self._flights.popleft()
        if flight.pending is None:
            self._recorder.record([], flight.position)
            return True
        report = DeliveryReport.of(
            flight.events, flight.pending.wait(), self._lifecycle.backoff, self._now()
        )
        for event, reason in report.refused:
            self._park(event, reason)
        self.metrics.record_delivered(len(report.acked), report.latencies)
        if report.retries:
            self.store.defer(report.retries, failed=True)
            self._held = self._held | {r.event.aggregate_id for r in report.retries}
            report.record_retries(self.metrics)
        # Marked on the recorder's thread; a failure there (the database gone) surfaces at
        # the next confirmation: nothing after it is confirmed, and the reopened stream
        # resends those batches (duplicates at worst).
        self._recorder.record(report.acked, flight.position)
        if report.retries:
            self._pause(report.failure_summary(len(flight.events)))
            return False
        return True

    # -- housekeeping ---------------------------------------------------------------------

    def _housekeeping(self) -> None:
        self._catch_up.housekeeping()
        now = self._monotonic()
        if now < self._next_slot_check:
            return
        self._next_slot_check = now + self.config.relay.status_interval
        try:
            status = self.slots.status()
        except StoreUnavailableError as exc:
            log.warning("outbox relay %s: slot status unknown: %s", self.relay_id, exc)
            return
        if status is None:
            return
        self.metrics.record_slot(status)
        retained = status.retained_bytes or 0
        if retained > self.config.max_retained_bytes:
            log.warning(
                "outbox relay %s: slot %s holds %d MiB of WAL (warning above %d MiB; the "
                "server gives the slot up past max_slot_wal_keep_size)",
                self.relay_id,
                status.name,
                retained // 2**20,
                self.config.max_retained_bytes // 2**20,
            )
