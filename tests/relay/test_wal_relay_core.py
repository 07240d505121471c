"""The log-based relay's core against fakes of its ports: what it sends, settles, holds,
defers, parks and confirms, step by step (one ``_cycle`` at a time).

The integration tests on the real stack (``test_relay_wal.py``) show the whole thing
works; these show each rule of :mod:`playball_events.outbox.wal_relay` in isolation:
a position is confirmed only once everything before it is settled, a batch goes out
only once the one before is settled, a held user's rows go to the table and come back
through the catch-up claim in version order, and the standby waits for the slot.

The fakes of the polling relay's tests (``test_relay_core.py``) are reused: the capture
store extends its ``FakeStore``, the publisher its ``FakePublisher``. One journal records
the calls of the store, the stream and the publisher in the order they happen.
"""
# ruff: noqa: ARG002 - fakes implement the ports' full signatures and ignore what they do not model

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

import pytest
from playball_core.registry import InMemoryRegistry, RegisteredSchema, RegistryUnreachableError
from playball_events.outbox import wal_relay
from playball_events.outbox.metrics import RelayMetrics
from playball_events.outbox.model import NewOutboxEvent, OutboxState
from playball_events.outbox.ports import (
    CapturedBatch,
    CaptureStore,
    ChangeStream,
    Deliveries,
    DeliveryOutcome,
    OutboxEvent,
    OutgoingMessage,
    PendingDeliveries,
    Retry,
    SlotBusyError,
    SlotLostError,
    SlotMonitor,
    SlotStatus,
    StoreUnavailableError,
)
from playball_events.outbox.relay import RelayConfig
from playball_events.outbox.schema_ids import SchemaHeaders
from playball_events.outbox.wal_relay import WalConfig, WalOutboxRelay
from support.outbox import RECORDS, subjects, user_event

from relay.test_relay_core import NOW, TOPIC, DownRegistry, FakePublisher, FakeStore, registry_with

POLL = 0.5  # the relay's poll interval: how often the catch-up claim may run
# the relay's backoff is 1 s (jittered to 0.75 s by rng=0.5): a failed delivery is
# deferred that far into the future
BACKOFF = 0.75
UNSENT = (OutboxState.PENDING, OutboxState.PARKED)

Journal = list[tuple[str, object]]


class Clock:
    """The relay's wall clock and monotonic clock; only the test moves them."""

    def __init__(self) -> None:
        self.wall = NOW
        self.mono = 1_000.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


def event_of(row: dict[str, object]) -> OutboxEvent:
    event = row["event"]
    assert isinstance(event, OutboxEvent)
    return event


def not_before_of(row: dict[str, object]) -> datetime | None:
    not_before = row["not_before"]
    assert not_before is None or isinstance(not_before, datetime)
    return not_before


class FakeCaptureStore(FakeStore, CaptureStore):
    """FakeStore's rows, and what the log-based relay asks of the table. As in SQL, a row
    is *deferred* when its ``not_before`` is set and *leased* when ``claimed_by`` is."""

    def __init__(self, clock: Clock, journal: Journal) -> None:
        super().__init__()
        self.clock = clock
        self.journal = journal
        # one entry per remove_streamed to fail: whether the delete committed before the
        # answer was lost (True) or never ran (False)
        self.remove_failures: list[bool] = []
        self.removed: list[dict[str, object]] = []  # the rows remove_streamed deleted
        self.deferrals: list[tuple[bool, list[Retry]]] = []  # (failed, retries) per call
        self.held_claims: list[tuple[list[str], list[int]]] = []  # (users, seqs claimed)

    def commit(self, events: Sequence[NewOutboxEvent]) -> list[OutboxEvent]:
        """Insert rows as one transaction; the rows as the log carries them."""
        first = len(self.rows)
        self.insert_events(events)
        return [event_of(row) for row in self.rows[first:]]

    def row(self, event: OutboxEvent) -> dict[str, object]:
        return self.state_of(event.event_id)

    def seq_of(self, message: OutgoingMessage) -> int:
        return event_of(self.state_of(uuid.UUID(dict(message.headers)["event_id"].decode()))).seq

    def mark_sent(self, events: Sequence[OutboxEvent]) -> None:
        super().mark_sent(events)
        self.journal.append(("mark_sent", tuple(e.seq for e in events)))

    def remove_streamed(self, events: Sequence[OutboxEvent]) -> None:
        seqs = tuple(e.seq for e in events)
        if events and self.remove_failures:
            if self.remove_failures.pop(0):
                self._delete(seqs)
            self.journal.append(("remove failed", seqs))
            raise StoreUnavailableError("server closed the connection unexpectedly")
        self._delete(seqs)
        self.journal.append(("remove", seqs))

    def _delete(self, seqs: Sequence[int]) -> None:
        """As the SQL store's DELETE: the rows of ``seqs`` still pending or parked."""
        gone = [r for r in self.rows if event_of(r).seq in seqs and r["state"] in UNSENT]
        self.removed.extend(gone)
        self.rows = [r for r in self.rows if r not in gone]

    def was_removed(self, *events: OutboxEvent) -> bool:
        """Whether every one of ``events`` was streamed, acked and deleted."""
        removed = {event_of(r).seq for r in self.removed}
        present = {event_of(r).seq for r in self.rows}
        return all(e.seq in removed and e.seq not in present for e in events)

    def retry(self, event_id: uuid.UUID) -> bool:
        """As the SQL store: back in line, due now (so the table's claim sends it)."""
        row = self.state_of(event_id)
        if row["state"] != OutboxState.PARKED:
            return False
        row["state"], row["not_before"], row["reason"] = OutboxState.PENDING, self.clock.now(), None
        row["event"] = event_of(row)._replace(attempts=0)
        return True

    def stream_verdicts(
        self, seqs: Sequence[int], xids: Sequence[int]
    ) -> tuple[set[int], set[str]]:
        """As SQL's: a row gone (deleted once acked) is neither sent nor held. Every
        transaction is visible at once here, so ``xids`` decide nothing."""
        assert len(xids) == len(seqs)
        self.journal.append(("verdicts", tuple(seqs)))
        deliverable: set[int] = set()
        held: set[str] = set()
        for row in self.rows:
            event = event_of(row)
            if event.seq not in seqs:
                continue
            if (
                row["state"] == OutboxState.PENDING
                and row["claimed_by"] is None
                and row["not_before"] is None
            ):
                deliverable.add(event.seq)
            elif row["state"] in UNSENT:
                held.add(event.aggregate_id)
        return deliverable, held

    def held_users(self, among: Sequence[str] | None = None) -> set[str]:
        if among is not None:
            return {
                event_of(r).aggregate_id
                for r in self.rows
                if r["state"] in UNSENT and event_of(r).aggregate_id in among
            }
        return {
            event_of(r).aggregate_id
            for r in self.rows
            if r["state"] == OutboxState.PARKED
            or (
                r["state"] == OutboxState.PENDING
                and (r["not_before"] is not None or r["claimed_by"] is not None)
            )
        }

    def every_unsent_user(self) -> set[str]:
        return {event_of(r).aggregate_id for r in self.rows if r["state"] in UNSENT}

    def claim_held(
        self, relay_id: str, users: Sequence[str], limit: int, lease: timedelta
    ) -> list[OutboxEvent]:
        """The polling claim's prefix rule over ``users``: a row goes only with every
        earlier unsent row of its user, and a parked, leased or backing-off one blocks."""
        blocked: set[str] = set()
        claimed: list[OutboxEvent] = []
        for row in sorted(self.rows, key=lambda r: event_of(r).aggregate_version):
            event = event_of(row)
            user = event.aggregate_id
            if user not in users or row["state"] == OutboxState.SENT or user in blocked:
                continue
            not_before = not_before_of(row)
            free = (
                row["state"] == OutboxState.PENDING
                and row["claimed_by"] is None
                and (not_before is None or not_before <= self.clock.now())
            )
            if not free or len(claimed) >= limit:
                blocked.add(user)
                continue
            row["claimed_by"] = relay_id
            claimed.append(event)
        self.held_claims.append((list(users), [e.seq for e in claimed]))
        return claimed

    def defer(self, retries: Sequence[Retry], *, failed: bool) -> None:
        self.journal.append(("defer", (failed, tuple(r.event.seq for r in retries))))
        self.deferrals.append((failed, list(retries)))
        for retry in retries:
            row = self.row(retry.event)
            if row["state"] != OutboxState.PENDING or row["claimed_by"] is not None:
                continue  # as SQL's: pending and unleased rows only
            row["reason"], row["not_before"] = retry.reason, retry.not_before
            if failed:
                row["event"] = event_of(row)._replace(attempts=event_of(row).attempts + 1)

    def park_streamed(self, event: OutboxEvent, reason: str) -> None:
        self.journal.append(("park", event.seq))
        row = self.row(event)
        if row["state"] == OutboxState.PENDING and row["claimed_by"] is None:
            row["state"], row["reason"] = OutboxState.PARKED, reason


class FakeChangeStream(ChangeStream):
    """The slot: a log of committed transactions, read in order from the position after
    the confirmed one each time the stream is opened (as the server resends)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.log: list[CapturedBatch] = []
        self.confirmed = 0
        self.is_open = False
        self.opens = 0
        self.reads = 0
        # what each open() does, in turn: True/False (slot created now or not), or raise;
        # past the script, it opens an existing slot
        self.open_script: list[bool | Exception] = []
        self.read_errors: list[Exception] = []  # raised by the next reads, in turn
        self.timeouts: list[float] = []  # what each read was given to wait
        self.on_idle: Callable[[], None] | None = None  # called when the log is all read
        self._next = 0

    def append(self, events: Sequence[OutboxEvent]) -> CapturedBatch:
        """A batch of whole transactions ending at the next position (100, 200, ...)."""
        transaction = len(self.log) + 1  # its xid: one transaction per batch here
        batch = CapturedBatch(
            list(events),
            position=100 * transaction,
            lag_seconds=0.0,
            xids=[transaction] * len(events),
        )
        self.log.append(batch)
        return batch

    def open(self) -> bool:
        self.opens += 1
        self.journal.append(("open", self.opens))
        outcome = self.open_script.pop(0) if self.open_script else False
        if isinstance(outcome, Exception):
            raise outcome
        self.is_open = True
        self._next = next(
            (i for i, b in enumerate(self.log) if b.position > self.confirmed), len(self.log)
        )
        return outcome

    def read(self, max_events: int, timeout: float) -> CapturedBatch:
        assert self.is_open, "read from a stream that is not open"
        self.reads += 1
        self.timeouts.append(timeout)
        if self.read_errors:
            raise self.read_errors.pop(0)
        if self._next < len(self.log):
            batch = self.log[self._next]
            self._next += 1
            self.journal.append(("read", batch.position))
            return batch
        if self.on_idle is not None:
            self.on_idle()
        # nothing new: the server's keepalive reports the log's end
        return CapturedBatch([], self.log[-1].position if self.log else 0, 0.0)

    def confirm(self, position: int) -> None:
        assert self.is_open, "confirmed on a stream that is not open"
        assert position >= self.confirmed, "a slot's confirmed position never goes back"
        self.confirmed = position
        self.journal.append(("confirm", position))

    def close(self) -> None:
        self.is_open = False
        self.journal.append(("close", None))


class FakeSlotMonitor(SlotMonitor):
    def __init__(self) -> None:
        self.active_pid: int | None = None

    def status(self) -> SlotStatus:
        return SlotStatus("playball_outbox_unit", self.active_pid, "reserved", 0, 0)

    def close(self) -> None:
        """Nothing held."""


class JournalPending(PendingDeliveries):
    def __init__(self, deliveries: Deliveries, seqs: tuple[int, ...], journal: Journal):
        self.deliveries = deliveries
        self.seqs = seqs
        self.journal = journal

    def wait(self) -> Deliveries:
        self.journal.append(("acks", self.seqs))
        return self.deliveries


class JournalPublisher(FakePublisher):
    """FakePublisher (acks all but the outcomes it is told), noting each send and each
    wait for acks in the journal, by row seq."""

    def __init__(self, journal: Journal, store: FakeCaptureStore) -> None:
        super().__init__()
        self.journal = journal
        self.store = store
        self.on_send: Callable[[], None] | None = None

    def send(self, messages: Sequence[OutgoingMessage]) -> PendingDeliveries:
        seqs = tuple(self.store.seq_of(m) for m in messages)
        self.journal.append(("send", seqs))
        deliveries = super().send(messages).wait()
        if self.on_send is not None:
            self.on_send()
        return JournalPending(deliveries, seqs, self.journal)

    def fail(self, event: OutboxEvent, outcome: DeliveryOutcome) -> None:
        self.outcomes[str(event.event_id)] = outcome

    def versions_of(self, user: uuid.UUID) -> list[int]:
        """The versions of ``user`` the broker acked, in the order it got them."""
        return [
            int(dict(m.headers)["user_version"]) for m in self.sent if m.key == str(user).encode()
        ]


@dataclass
class Rig:
    clock: Clock
    journal: Journal
    store: FakeCaptureStore
    stream: FakeChangeStream
    slots: FakeSlotMonitor
    publisher: JournalPublisher
    relay: WalOutboxRelay
    pauses: list[float] = field(default_factory=list)

    def commit(self, *events: NewOutboxEvent) -> list[OutboxEvent]:
        """One transaction: its rows in the table, and in the log as one batch."""
        rows = self.store.commit(events)
        self.stream.append(rows)
        return rows

    def cycle(self, times: int = 1) -> None:
        for _ in range(times):
            self.relay._cycle()

    def sends(self) -> list[tuple[int, ...]]:
        """The seqs of each send to the producer, in order."""
        return [cast(tuple[int, ...], sent) for kind, sent in self.journal if kind == "send"]

    def at(self, entry: tuple[str, object]) -> int:
        """Where ``entry`` is in the journal (it must be there)."""
        assert entry in self.journal, f"{entry} never happened: {self.journal}"
        return self.journal.index(entry)

    def standby_gauge(self) -> float:
        return float(self.relay.metrics.standby._value.get())


def make_rig(
    monkeypatch: pytest.MonkeyPatch,
    registry: InMemoryRegistry | None = None,
    backoff: tuple[float, float] = (1.0, 1.0),
    mark_linger: float = 0.0,
    max_in_flight: int = 1,
    batch_size: int = 100,
) -> Rig:
    clock, journal = Clock(), Journal()
    store = FakeCaptureStore(clock, journal)
    stream, slots = FakeChangeStream(journal), FakeSlotMonitor()
    publisher = JournalPublisher(journal, store)
    records = {f"{c.avro_schema()['namespace']}.{c.__name__}": c for c in RECORDS}
    relay = WalOutboxRelay(
        stream,
        store,
        slots,
        publisher,
        SchemaHeaders(
            registry or registry_with("UserRegistered", "UserUpdated", "UserDeleted"), records
        ),
        relay_id="unit",
        config=WalConfig(
            RelayConfig(
                # 100: more than any test's transaction, so no batch is full and held back a
                # round (the read-ahead's own tests set fewer)
                batch_size=batch_size,
                poll_interval=POLL,
                backoff_initial=backoff[0],
                backoff_max=backoff[1],
            ),
            # 0: a batch's acks are marked in the cycle that settles it (the linger's own
            # tests set one)
            mark_linger=mark_linger,
            # 1: each round settles the batch before it (the pipelining's own tests set more)
            max_in_flight=max_in_flight,
        ),
        metrics=RelayMetrics(),
        now=clock.now,
        monotonic=clock.monotonic,
        rng=lambda: 0.5,
        in_background=False,  # step by step: a batch is removed within its cycle
    )
    rig = Rig(clock, journal, store, stream, slots, publisher, relay)
    # The relay's pauses (a standby's poll, a backoff) are recorded, not waited out: the
    # test drives the clock, and a unit test must not sleep.
    monkeypatch.setattr(relay._lifecycle, "pause", rig.pauses.append)
    return rig


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Rig:
    return make_rig(monkeypatch)


def test_batches_failing_one_after_another_make_the_pause_grow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A broker outage fails batch after batch. Each round that settles a failed batch
    pauses, and the next failure pauses twice as long: reading and sending the next batch
    without an error is no recovery (its deliveries are not in yet). A batch delivered
    whole ends the run of failures."""
    rig = make_rig(monkeypatch, backoff=(0.5, 8.0))

    def round_of(outcome: DeliveryOutcome | None) -> None:
        (event,) = rig.commit(user_event(TOPIC, uuid.uuid4(), 1))  # a user of its own
        if outcome is not None:
            rig.publisher.fail(event, outcome)
        rig.cycle()  # sends it, and settles the batch of the round before

    for _ in range(4):
        round_of(DeliveryOutcome.POSSIBLY_PERSISTED)
    # equal jitter at 0.5: three quarters of 0.5, 1 and 2 s
    assert rig.pauses == [0.375, 0.75, 1.5]

    round_of(None)  # settles the fourth failure: the pause grows again
    round_of(None)  # settles a batch delivered whole: recovered
    round_of(DeliveryOutcome.POSSIBLY_PERSISTED)
    round_of(None)  # settles the new failure: back to the first step
    assert rig.pauses == [0.375, 0.75, 1.5, 3.0, 0.375]


def register(registry: InMemoryRegistry, record: str) -> None:
    subject, cls = next((s, c) for s, c in subjects(TOPIC).items() if c.__name__ == record)
    registry.register(subject, json.dumps(cls.avro_schema()))


def users(count: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(count)]


def seqs(events: Sequence[OutboxEvent]) -> tuple[int, ...]:
    return tuple(e.seq for e in events)


# -- sending and confirming ---------------------------------------------------------------


def test_a_batch_is_sent_in_log_order_marked_sent_and_only_then_confirmed(rig: Rig) -> None:
    alice, bob = users(2)
    batch = rig.commit(*(user_event(TOPIC, alice, v) for v in (1, 2, 3)), user_event(TOPIC, bob, 1))

    rig.cycle()  # opens the stream, reads the batch, sends it

    assert rig.sends() == [seqs(batch)]  # in the log's order: alice's versions in order
    assert rig.stream.confirmed == 0  # with the producer, not acked yet: nothing confirmed
    assert not any(kind == "remove" for kind, _ in rig.journal)

    rig.cycle()  # reads nothing new, settles the batch

    send, acks = rig.at(("send", seqs(batch))), rig.at(("acks", seqs(batch)))
    removed, confirmed = rig.at(("remove", seqs(batch))), rig.at(("confirm", 100))
    assert send < acks < removed < confirmed
    assert rig.store.was_removed(*batch)
    assert rig.publisher.versions_of(alice) == [1, 2, 3]
    assert rig.relay.metrics.delivered._value.get() == 4


@pytest.mark.parametrize(
    "committed", [True, False], ids=["answer-lost-after-commit", "never-written"]
)
def test_a_position_is_never_confirmed_when_marking_sent_fails(rig: Rig, committed: bool) -> None:
    alice, bob = users(2)
    batch = rig.commit(user_event(TOPIC, alice, 1), user_event(TOPIC, bob, 1))
    rig.store.remove_failures = [committed]

    rig.cycle(2)  # sent, then settling it: removing the acked rows fails

    assert ("remove failed", seqs(batch)) in rig.journal
    assert not any(kind == "confirm" for kind, _ in rig.journal)
    assert rig.stream.confirmed == 0
    assert not rig.stream.is_open  # closed, to be read again from the confirmed position
    assert len(rig.pauses) == 1  # backs off before reopening

    rig.cycle(2)  # reopens, reads the batch again, checks it against the table

    assert rig.stream.opens == 2
    assert rig.journal.count(("read", 100)) == 2
    assert rig.stream.confirmed == 100
    first_confirm = rig.at(("confirm", 100))
    if committed:
        # the rows are gone from the table: the batch read again is recognised, not resent
        assert rig.sends() == [seqs(batch)]
        checks = [i for i, entry in enumerate(rig.journal) if entry == ("verdicts", seqs(batch))]
        assert len(checks) == 2 and checks[1] < first_confirm
    else:
        # at least once: sent again (a duplicate consumers drop), then removed, then confirmed
        assert rig.sends() == [seqs(batch), seqs(batch)]
        assert rig.at(("remove", seqs(batch))) < first_confirm
    assert rig.store.was_removed(*batch)


def test_empty_batches_confirm_their_position_once_nothing_is_in_flight(rig: Rig) -> None:
    rig.stream.append([])  # a keepalive or a transaction of other tables only: position 100
    rig.cycle()
    assert rig.stream.confirmed == 100

    batch = rig.commit(user_event(TOPIC, uuid.uuid4(), 1))  # 200
    rig.stream.append([])  # 300
    rig.cycle()  # sends the batch at 200
    assert rig.stream.confirmed == 100

    rig.cycle()  # reads the empty one at 300: settles 200 first, then confirms up to 300

    assert rig.at(("remove", seqs(batch))) < rig.at(("confirm", 300))
    assert rig.stream.confirmed == 300


# -- batches of other users sent while earlier ones await their acks (max_in_flight) --------


def test_batches_of_other_users_go_out_while_earlier_ones_await_their_acks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = make_rig(monkeypatch, max_in_flight=4)
    alice, bob, carol = users(3)
    first = rig.commit(user_event(TOPIC, alice, 1))
    second = rig.commit(user_event(TOPIC, bob, 1))
    third = rig.commit(user_event(TOPIC, carol, 1), user_event(TOPIC, alice, 2))

    rig.cycle(3)

    # bob's batch shares no user with alice's: it goes out before alice's acks are in;
    # the third brings alice again, so alice's first batch is settled before it goes
    assert rig.at(("send", seqs(second))) < rig.at(("acks", seqs(first)))
    assert rig.at(("acks", seqs(first))) < rig.at(("send", seqs(third)))
    assert rig.publisher.versions_of(alice) == [1, 2]
    assert rig.stream.confirmed == 100  # the first only: the others still await acks

    rig.cycle()  # nothing new to read: everything in flight is settled, in order

    assert rig.at(("acks", seqs(second))) < rig.at(("acks", seqs(third)))
    assert rig.at(("remove", seqs(second))) < rig.at(("remove", seqs(third)))
    assert rig.at(("remove", seqs(third))) < rig.at(("confirm", 300))
    assert rig.stream.confirmed == 300
    assert rig.store.was_removed(*first, *second, *third)


def test_no_more_batches_than_max_in_flight_await_their_acks_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = make_rig(monkeypatch, max_in_flight=2)
    batches = [rig.commit(user_event(TOPIC, user, 1)) for user in users(4)]

    rig.cycle(4)

    waits = [rig.at(("acks", seqs(batch))) for batch in batches[:2]]
    assert rig.at(("send", seqs(batches[1]))) < waits[0]  # two out at once
    assert waits[0] < rig.at(("send", seqs(batches[2])))  # the third waits for a place
    assert waits[1] < rig.at(("send", seqs(batches[3])))


def test_a_failure_holds_its_user_and_spares_the_batch_of_others_sent_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = make_rig(monkeypatch, max_in_flight=4)
    alice, bob = users(2)
    (a1,) = rig.commit(user_event(TOPIC, alice, 1))
    rig.publisher.fail(a1, DeliveryOutcome.RETRIABLE)
    (b1,) = rig.commit(user_event(TOPIC, bob, 1))
    (a2,) = rig.commit(user_event(TOPIC, alice, 2))

    rig.cycle(3)  # a1 and b1 out; a2 shares alice: a1 settled first, fails, alice held

    assert rig.sends() == [(a1.seq,), (b1.seq,)]  # a2 never went out behind the failure
    assert [r.event.seq for r in rig.store.deferrals[-1][1]] == [a2.seq]
    assert rig.store.row(a1)["not_before"] is not None  # the table's now, with its backoff

    rig.cycle()  # settles b1: delivered, removed

    assert rig.store.was_removed(b1)
    assert rig.publisher.versions_of(bob) == [1]


# -- a full batch sent a round later, checked while the next is read ---------------------


def test_a_full_batch_is_checked_while_the_next_is_read_then_sent_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = make_rig(monkeypatch, batch_size=2, max_in_flight=4)
    alice, bob, carol = users(3)
    full = rig.commit(user_event(TOPIC, alice, 1), user_event(TOPIC, bob, 1))
    rest = rig.commit(user_event(TOPIC, carol, 1))

    rig.cycle()  # reads the full batch and has it checked; sends nothing yet

    assert rig.sends() == []
    assert ("verdicts", seqs(full)) in rig.journal
    assert rig.stream.confirmed == 0

    rig.cycle()  # reads the next (with no wait: something is ready to go), sends both in order

    assert rig.stream.timeouts[-1] == 0
    assert rig.at(("read", 200)) < rig.at(("send", seqs(full)))
    assert rig.sends() == [seqs(full), seqs(rest)]

    rig.cycle()  # nothing new: both settled, removed, confirmed
    assert rig.stream.confirmed == 200
    assert rig.store.was_removed(*full, *rest)


def test_a_full_batch_held_back_when_the_stream_is_lost_is_read_again_and_sent_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = make_rig(monkeypatch, batch_size=2)
    alice, bob = users(2)
    full = rig.commit(user_event(TOPIC, alice, 1), user_event(TOPIC, bob, 1))

    rig.cycle()  # read and held back
    rig.stream.read_errors.append(StoreUnavailableError("connection lost"))
    rig.cycle()  # the stream fails: the held-back batch is dropped, never sent
    assert rig.sends() == []

    rig.cycle(3)  # reopened: read again from the confirmed position, sent, settled

    assert rig.sends() == [seqs(full)]
    assert rig.publisher.versions_of(alice) == [1]
    assert rig.stream.confirmed == 100


# -- acks gathered before they are marked (WalConfig.mark_linger) --------------------------

LINGER = 0.1


def marks(rig: Rig) -> list[tuple[int, ...]]:
    """The seqs of each removal of acked rows, in order."""
    return [cast(tuple[int, ...], sent) for kind, sent in rig.journal if kind == "remove"]


def test_acks_are_gathered_for_the_linger_then_marked_with_one_update_and_confirmed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = make_rig(monkeypatch, mark_linger=LINGER)
    alice, bob = users(2)
    first = rig.commit(user_event(TOPIC, alice, 1))
    rig.cycle()  # sends the first
    second = rig.commit(user_event(TOPIC, bob, 1))
    rig.cycle(2)  # settles the first and sends the second; settles the second
    assert rig.stream.timeouts[-1] == 0  # with a batch in flight: only what is buffered
    rig.cycle()  # nothing in flight: waits on the stream

    assert rig.publisher.versions_of(alice) == [1]
    assert rig.publisher.versions_of(bob) == [1]
    assert marks(rig) == []  # acked, gathered, not marked yet
    assert rig.stream.confirmed == 0  # so nothing is confirmed either
    # the stream is read no longer than until the gathered acks are due (not a whole poll;
    # the clock stood still since they were gathered)
    assert rig.stream.timeouts[-1] == pytest.approx(LINGER)
    assert LINGER < POLL

    rig.clock.advance(LINGER)
    rig.cycle()

    assert marks(rig) == [seqs(first) + seqs(second)]  # one DELETE for both batches
    assert rig.at(("remove", seqs(first) + seqs(second))) < rig.at(("confirm", 200))
    assert rig.stream.confirmed == 200
    assert rig.store.was_removed(*first, *second)


def test_a_full_batch_of_acks_is_marked_without_waiting_for_the_linger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = make_rig(monkeypatch, mark_linger=LINGER)  # batch_size 100
    batch = rig.commit(*(user_event(TOPIC, uuid.uuid4(), 1) for _ in range(100)))

    rig.cycle(2)  # sends, settles: as many acks as a batch holds, marked at once

    assert marks(rig) == [seqs(batch)]
    assert rig.stream.confirmed == 100


def test_gathered_acks_are_marked_before_the_catch_up_claims_a_held_users_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # UserUpdated is not registered: alice's v2 is parked, and alice held
    rig = make_rig(monkeypatch, registry_with("UserRegistered"), mark_linger=LINGER)
    (alice,) = users(1)
    a1, a2 = rig.commit(user_event(TOPIC, alice, 1), user_event(TOPIC, alice, 2))

    rig.cycle()  # sends v1, parks v2
    rig.cycle()  # settles v1 (acked, gathered); the catch-up for alice is due

    # v1 is marked before the table is asked for alice's unsent rows: else the claim
    # would find v1 unsent and send it a second time
    assert rig.at(("remove", (a1.seq,))) < len(rig.journal)
    assert rig.store.held_claims == [([str(alice)], [])]
    assert rig.publisher.versions_of(alice) == [1]
    assert rig.store.row(a2)["state"] == OutboxState.PARKED


class DownFor(InMemoryRegistry):
    """A registry that cannot be reached for the schemas of ``down`` (record names)."""

    def __init__(self, *down: str) -> None:
        super().__init__()
        self.down = down
        for subject, cls in subjects(TOPIC).items():
            self.register(subject, json.dumps(cls.avro_schema()))

    def lookup(self, subject: str, schema: str) -> RegisteredSchema | None:
        if subject.endswith(self.down):
            raise RegistryUnreachableError("registry down")
        return super().lookup(subject, schema)


class UnreachableOnce(InMemoryRegistry):
    """A registry that cannot be reached for its first lookup, then answers."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1
        for subject, cls in subjects(TOPIC).items():
            self.register(subject, json.dumps(cls.avro_schema()))

    def lookup(self, subject: str, schema: str) -> RegisteredSchema | None:
        if self.failures:
            self.failures -= 1
            raise RegistryUnreachableError("registry down")
        return super().lookup(subject, schema)


@pytest.mark.parametrize(
    "batch_size", [100, 1], ids=["sent in its round", "read ahead: sent a round later"]
)
def test_a_message_the_registry_failed_as_it_was_read_is_made_again_when_sent(
    monkeypatch: pytest.MonkeyPatch, batch_size: int
) -> None:
    rig = make_rig(monkeypatch, UnreachableOnce(), batch_size=batch_size)
    (event,) = rig.commit(user_event(TOPIC, uuid.uuid4(), 1))

    rig.cycle(2)

    assert rig.sends() == [(event.seq,)]
    assert rig.stream.is_open  # no pause, nothing read again
    assert rig.journal.count(("read", 100)) == 1
    assert rig.relay.metrics.retries.labels(reason="registry")._value.get() == 0


def test_acks_gathered_when_the_stream_is_lost_are_marked_and_not_sent_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = make_rig(monkeypatch, DownFor("UserUpdated"), mark_linger=LINGER)
    alice, bob = users(2)
    first = rig.commit(user_event(TOPIC, alice, 1))
    rig.cycle()  # sends the first
    rig.commit(user_event(TOPIC, bob, 1), user_event(TOPIC, bob, 2))
    rig.cycle()  # settles the first (gathered); the second's schema lookup fails

    assert not rig.stream.is_open  # the stream is read again after a pause
    assert marks(rig) == [seqs(first)]  # the acks gathered are marked all the same
    assert rig.stream.confirmed == 0  # but their position is not confirmed

    rig.cycle()  # reopens at the start: the first batch is read again

    assert rig.journal.count(("read", 100)) == 2
    assert rig.sends() == [seqs(first)]  # recognised as sent: not sent a second time


def test_a_batch_sharing_users_with_the_one_before_waits_until_that_one_is_settled(
    rig: Rig,
) -> None:
    alice, bob, carol = users(3)
    first = rig.commit(user_event(TOPIC, alice, 1), user_event(TOPIC, bob, 1))
    second = rig.commit(user_event(TOPIC, alice, 2), user_event(TOPIC, carol, 1))

    rig.cycle(3)

    # the second batch, read while the first awaited its acks, goes out only after the
    # first is settled (every ack known, so a failed user would be held); the first's
    # position is confirmed once its rows are removed, not before
    assert (
        rig.at(("send", seqs(first)))
        < rig.at(("read", 200))
        < rig.at(("acks", seqs(first)))
        < rig.at(("send", seqs(second)))
    )
    assert rig.at(("remove", seqs(first))) < rig.at(("confirm", 100))
    assert rig.publisher.versions_of(alice) == [1, 2]
    assert rig.stream.confirmed == 200


def test_a_user_whose_delivery_failed_is_not_overtaken_by_its_next_event_already_read(
    rig: Rig,
) -> None:
    alice, bob = users(2)
    (alice_1,) = rig.commit(user_event(TOPIC, alice, 1))
    alice_2, bob_1 = rig.commit(user_event(TOPIC, alice, 2), user_event(TOPIC, bob, 1))
    rig.publisher.fail(alice_1, DeliveryOutcome.RETRIABLE)

    rig.cycle(2)  # v1 sent; v2 read while v1 is with the producer; v1 fails

    # v2 was read before v1's fate was known, yet it goes to the table behind v1
    assert rig.sends() == [(alice_1.seq,), (bob_1.seq,)]
    assert (False, (alice_2.seq,)) in [e for k, e in rig.journal if k == "defer"]
    assert rig.publisher.versions_of(alice) == []


# -- holding users: parked and failed events ---------------------------------------------


def test_a_poison_event_is_parked_and_holds_its_user_until_retried_while_others_flow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # UserUpdated is not registered: alice's v2 cannot get a schema header
    registry = registry_with("UserRegistered", "UserDeleted")
    rig = make_rig(monkeypatch, registry)
    alice, bob, carol = users(3)
    a1, a2, a3, b1 = rig.commit(
        *(user_event(TOPIC, alice, v) for v in (1, 2, 3)), user_event(TOPIC, bob, 1)
    )

    rig.cycle()

    assert rig.store.row(a2)["state"] == OutboxState.PARKED
    assert "not registered" in str(rig.store.row(a2)["reason"])
    assert rig.sends() == [(a1.seq, b1.seq)]
    # alice's v3, in the same batch, waits in the table behind the parked one
    assert rig.store.deferrals[-1][0] is False
    assert [r.event.seq for r in rig.store.deferrals[-1][1]] == [a3.seq]
    assert rig.store.row(a3)["not_before"] is not None
    assert event_of(rig.store.row(a3)).attempts == 0  # waiting is no failed attempt

    a4, c1 = rig.commit(user_event(TOPIC, alice, 4), user_event(TOPIC, carol, 1))
    rig.cycle()  # settles the first batch; the catch-up finds alice still blocked

    assert rig.store.held_claims[-1] == ([str(alice)], [])  # v2 parked: nothing claimable
    assert rig.sends()[-1] == (c1.seq,)  # carol flows
    assert [r.event.seq for r in rig.store.deferrals[-1][1]] == [a4.seq]
    assert rig.store.deferrals[-1][0] is False
    assert rig.relay.metrics.parked_events._value.get() == 1

    # the operator registers the schema and retries the parked event
    register(registry, "UserUpdated")
    assert rig.store.retry(a2.event_id)
    rig.clock.advance(POLL)  # the next catch-up is due
    rig.cycle()

    # the table's claim sends the held rows, in version order, then frees alice
    assert rig.store.held_claims[-1] == ([str(alice)], [a2.seq, a3.seq, a4.seq])
    assert rig.publisher.versions_of(alice) == [1, 2, 3, 4]
    assert all(rig.store.row(e)["state"] == OutboxState.SENT for e in (a2, a3, a4))

    (a5,) = rig.commit(user_event(TOPIC, alice, 5))
    claims_before = len(rig.store.held_claims)
    rig.cycle(2)

    # freed: alice's next event goes straight from the log, no claim involved
    assert rig.sends()[-1] == (a5.seq,)
    assert len(rig.store.held_claims) == claims_before
    assert rig.publisher.versions_of(alice) == [1, 2, 3, 4, 5]
    assert rig.stream.confirmed == 300


@pytest.mark.parametrize(
    "batch_size",
    [100, 2],
    ids=["checked in its round", "read ahead: checked a round before it is sent"],
)
def test_a_row_the_catch_up_sent_after_the_batch_was_checked_is_not_sent_again(
    monkeypatch: pytest.MonkeyPatch, batch_size: int
) -> None:
    # UserUpdated is not registered: alice's v2 is parked, and alice held
    registry = registry_with("UserRegistered", "UserDeleted")
    rig = make_rig(monkeypatch, registry, batch_size=batch_size)
    alice, bob = users(2)
    _a1, a2 = rig.commit(*(user_event(TOPIC, alice, v) for v in (1, 2)))
    rig.cycle(2)
    assert rig.store.row(a2)["state"] == OutboxState.PARKED

    register(registry, "UserUpdated")
    assert rig.store.retry(a2.event_id)
    # alice's v3 reaches the log: it is checked (pending, deliverable) before the
    # catch-up that is due claims alice's rows, v3 among them, sends them, frees alice
    a3, b1 = rig.commit(user_event(TOPIC, alice, 3), user_event(TOPIC, bob, 1))
    if batch_size == 2:
        rig.cycle()  # a full batch: read and checked, sent a round later
    rig.clock.advance(POLL)  # the next catch-up is due
    rig.cycle(2)

    assert ([str(alice)], [a2.seq, a3.seq]) in rig.store.held_claims
    assert rig.store.row(a3)["state"] == OutboxState.SENT
    assert rig.publisher.versions_of(alice) == [1, 2, 3]  # v3 once, by the table
    assert rig.publisher.versions_of(bob) == [1]
    assert rig.journal.count(("verdicts", (a3.seq, b1.seq))) == 2  # again after the claim
    assert rig.stream.confirmed == 200


def test_stopping_ends_the_catch_up_claims_threads(rig: Rig) -> None:
    rig.cycle()
    catch_up = rig.relay._catch_up
    catch_up._settler.submit(lambda: None).result()  # its thread started, as in a claim

    rig.relay._shutdown()

    for executor in (catch_up._settler, catch_up._claimer):
        with pytest.raises(RuntimeError, match="after shutdown"):
            executor.submit(lambda: None)


def test_failed_deliveries_are_deferred_with_backoff_their_users_held_and_fatal_ones_parked(
    rig: Rig,
) -> None:
    alice, bob, carol, dave = users(4)
    a1, b1, c1, d1 = rig.commit(*(user_event(TOPIC, u, 1) for u in (alice, bob, carol, dave)))
    rig.publisher.fail(a1, DeliveryOutcome.RETRIABLE)
    rig.publisher.fail(b1, DeliveryOutcome.POSSIBLY_PERSISTED)
    rig.publisher.fail(c1, DeliveryOutcome.FATAL)
    a2, b2, d2 = rig.commit(*(user_event(TOPIC, u, 2) for u in (alice, bob, dave)))

    rig.cycle(2)  # the first batch sent, then settled while the second is read

    failed = [retries for was_failed, retries in rig.store.deferrals if was_failed]
    assert [[r.event.seq for r in retries] for retries in failed] == [[a1.seq, b1.seq]]
    for retry in failed[0]:
        assert retry.not_before == NOW + timedelta(seconds=BACKOFF)  # in the future
        assert event_of(rig.store.row(retry.event)).attempts == 1
    assert "retriable" in str(rig.store.row(a1)["reason"])
    assert "possibly_persisted" in str(rig.store.row(b1)["reason"])
    assert rig.store.row(c1)["state"] == OutboxState.PARKED
    assert "the broker refused it" in str(rig.store.row(c1)["reason"])
    assert rig.store.was_removed(d1)
    # what failed is the table's now: the position moves on
    assert rig.stream.confirmed == 100
    assert rig.at(("defer", (True, (a1.seq, b1.seq)))) < rig.at(("confirm", 100))
    # their users are held: their next events, read already, wait in the table too
    assert rig.sends()[-1] == (d2.seq,)
    assert rig.store.deferrals[-1][0] is False
    assert [r.event.seq for r in rig.store.deferrals[-1][1]] == [a2.seq, b2.seq]
    retries = rig.relay.metrics.retries
    assert retries.labels(reason="possibly_persisted")._value.get() == 1
    assert retries.labels(reason="broker")._value.get() == 1
    assert rig.relay.metrics.parked_events._value.get() == 1
    assert rig.pauses == [BACKOFF]  # and the relay backs off

    rig.publisher.outcomes.clear()  # the broker is back
    rig.clock.advance(BACKOFF)  # the backoff is over
    rig.cycle()

    assert rig.publisher.versions_of(alice) == [1, 2]
    assert rig.publisher.versions_of(bob) == [1, 2]
    assert rig.publisher.versions_of(carol) == []  # parked until retried
    assert rig.stream.confirmed == 200


def test_the_catch_up_does_not_retry_a_failed_event_before_its_backoff_is_over(
    rig: Rig,
) -> None:
    alice = uuid.uuid4()
    (a1,) = rig.commit(user_event(TOPIC, alice, 1))
    rig.publisher.fail(a1, DeliveryOutcome.RETRIABLE)
    rig.cycle(2)
    rig.publisher.outcomes.clear()

    assert rig.store.held_claims == [([str(alice)], [])]  # at once: v1 backing off
    rig.clock.advance(POLL)  # the next catch-up is due, the backoff (0.75 s) is not over
    rig.cycle()
    assert rig.store.held_claims[-1] == ([str(alice)], [])
    assert rig.publisher.versions_of(alice) == []

    rig.clock.advance(POLL)  # both over
    rig.cycle()
    assert rig.store.held_claims[-1] == ([str(alice)], [a1.seq])
    assert rig.publisher.versions_of(alice) == [1]


def test_a_row_the_table_holds_holds_its_users_later_rows_in_the_same_batch(rig: Rig) -> None:
    alice, bob = users(2)
    rig.cycle()  # streaming
    a1, a2, b1 = rig.commit(
        user_event(TOPIC, alice, 1), user_event(TOPIC, alice, 2), user_event(TOPIC, bob, 1)
    )
    rig.store.row(a1)["claimed_by"] = "a-polling-relay"  # leased before this relay read it

    rig.cycle()

    assert rig.sends()[-1] == (b1.seq,)
    assert rig.store.deferrals[-1][0] is False  # a wait, not a failed attempt
    assert [r.event.seq for r in rig.store.deferrals[-1][1]] == [a2.seq]


# -- starting: which users the table keeps -------------------------------------------------


@pytest.mark.parametrize("created", [True, False], ids=["new-slot", "existing-slot"])
def test_a_new_slot_leaves_every_unsent_user_to_the_table_an_existing_one_only_held_users(
    rig: Rig, created: bool
) -> None:
    pending, deferred, done = users(3)
    # rows written before the relay started, straight into the table
    (p1,) = rig.store.commit([user_event(TOPIC, pending, 1)])
    (d1,) = rig.store.commit([user_event(TOPIC, deferred, 1)])
    rig.store.row(d1)["not_before"] = NOW - timedelta(seconds=1)  # an earlier relay's retry
    (s1,) = rig.store.commit([user_event(TOPIC, done, 1)])
    rig.store.mark_sent([s1])
    rig.stream.open_script = [created]

    rig.cycle()

    users_claimed, claimed = rig.store.held_claims[0]
    if created:
        # the new slot's log holds none of these rows: the table sends all the unsent
        assert users_claimed == sorted([str(pending), str(deferred)])
        assert sorted(claimed) == [p1.seq, d1.seq]
        assert rig.store.row(p1)["state"] == OutboxState.SENT
    else:
        # the slot's log still holds what it has not confirmed: the table only sends what
        # it holds (deferred, leased, parked)
        assert users_claimed == [str(deferred)]
        assert claimed == [d1.seq]
        assert rig.store.row(p1)["state"] == OutboxState.PENDING
    assert rig.store.row(d1)["state"] == OutboxState.SENT


# -- standby, and a lost slot --------------------------------------------------------------


@pytest.mark.parametrize("seen_by", ["monitor", "open"])
def test_a_relay_waits_as_a_standby_while_the_slot_is_busy_then_streams(
    rig: Rig, seen_by: str
) -> None:
    (event,) = rig.commit(user_event(TOPIC, uuid.uuid4(), 1))
    if seen_by == "monitor":
        rig.slots.active_pid = 4242  # pg_replication_slots shows another walsender
    else:
        rig.stream.open_script = [SlotBusyError("playball_outbox_unit", 4242)] * 2

    rig.cycle(2)

    assert rig.standby_gauge() == 1
    assert rig.stream.reads == 0
    assert rig.publisher.sent == []
    assert rig.pauses == [wal_relay.STANDBY_POLL] * 2  # looks again every standby poll
    assert rig.stream.opens == (0 if seen_by == "monitor" else 2)

    rig.slots.active_pid = None  # the active relay is gone
    rig.cycle(2)

    assert rig.standby_gauge() == 0
    assert rig.stream.reads == 2
    assert rig.store.was_removed(event)
    assert rig.stream.confirmed == 100


@pytest.mark.parametrize("outages", [0, 1], ids=["at-start", "on-reconnect"])
def test_a_lost_slot_ends_run_and_closes_the_producer(rig: Rig, outages: int) -> None:
    # before the loss, the stream may have dropped: the relay reconnects, then finds it lost
    rig.stream.read_errors = [StoreUnavailableError("replication stream ended")] * outages
    rig.stream.open_script = [False] * outages + [SlotLostError("slot is lost")]

    with pytest.raises(SlotLostError, match="slot is lost"):
        rig.relay.run()

    assert rig.publisher.closed
    assert not rig.stream.is_open
    assert rig.stream.opens == outages + 1


def test_stopping_settles_and_confirms_the_batch_in_flight(rig: Rig) -> None:
    batch = rig.commit(user_event(TOPIC, uuid.uuid4(), 1), user_event(TOPIC, uuid.uuid4(), 1))
    rig.publisher.on_send = rig.relay.stop  # SIGTERM while the batch is with the producer

    rig.relay.run()

    assert rig.stream.reads == 1  # stopped after the round in hand
    assert rig.at(("remove", seqs(batch))) < rig.at(("confirm", 100))
    assert rig.stream.confirmed == 100
    assert rig.publisher.closed
    assert not rig.stream.is_open


def test_a_registry_outage_sends_nothing_confirms_nothing_and_reads_the_batch_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = make_rig(monkeypatch, DownRegistry())
    (event,) = rig.commit(user_event(TOPIC, uuid.uuid4(), 1))

    rig.cycle()

    assert rig.publisher.sent == []
    assert rig.stream.confirmed == 0
    assert not rig.stream.is_open
    assert rig.store.row(event)["state"] == OutboxState.PENDING  # not parked: retried
    assert rig.relay.metrics.retries.labels(reason="registry")._value.get() == 1

    rig.cycle()
    assert rig.journal.count(("read", 100)) == 2
