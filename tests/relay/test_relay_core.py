"""The relay core against fakes of its ports: what it sends, marks, parks and retries."""
# ruff: noqa: ARG002 - fakes implement the ports' full signatures and ignore what they do not model

import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from playball_core.registry import InMemoryRegistry, RegistryUnreachableError
from playball_events.lifecycle import Backoff
from playball_events.outbox.metrics import RelayMetrics
from playball_events.outbox.model import NewOutboxEvent, OutboxState
from playball_events.outbox.ports import (
    Deliveries,
    Delivery,
    DeliveryOutcome,
    EventPublisher,
    OutboxEvent,
    OutboxStatus,
    OutboxStore,
    OutgoingMessage,
    ParkedEvent,
    PendingDeliveries,
    Retry,
    StoreUnavailableError,
    Wakeup,
)
from playball_events.outbox.relay import OutboxRelay, RelayConfig
from playball_events.outbox.schema_ids import (
    SchemaHeaders,
    UndeliverableEventError,
    message_key,
    uuid_text,
)
from playball_events.outbox.wakeup import PollWakeup
from support.outbox import RECORDS, subjects, user_event

TOPIC = "unit.user-events"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


class FakeStore(OutboxStore):
    """Rows in a list; claims follow the same per-user prefix rule as the SQL store."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []
        self.last_seq = 0  # seqs are never reused, as a sequence's (rows may be deleted)
        self.sent: list[uuid.UUID] = []
        self.released: list[uuid.UUID] = []

    def insert_events(self, events: Sequence[NewOutboxEvent]) -> None:
        for e in events:
            self.last_seq += 1
            self.rows.append(
                {
                    "event": OutboxEvent(
                        seq=self.last_seq,
                        event_id=e.event_id,
                        aggregate_id=e.aggregate_id,
                        aggregate_version=e.aggregate_version,
                        record_type=e.record_type,
                        topic=e.topic,
                        subject=e.subject,
                        payload=e.payload,
                        schema_fingerprint=e.schema_fingerprint,
                        headers=dict(e.headers),
                        created_at=e.created_at,
                        attempts=0,
                    ),
                    "state": OutboxState.PENDING,
                    "claimed_by": None,
                    "reason": None,
                    "not_before": None,
                }
            )

    def _row(self, event: OutboxEvent) -> dict[str, object]:
        return next(r for r in self.rows if r["event"].event_id == event.event_id)  # type: ignore[attr-defined]

    def state_of(self, event_id: uuid.UUID) -> dict[str, object]:
        return next(r for r in self.rows if r["event"].event_id == event_id)  # type: ignore[attr-defined]

    def claim_batch(self, relay_id: str, limit: int, lease: timedelta) -> list[OutboxEvent]:
        blocked: set[str] = set()
        claimed: list[OutboxEvent] = []
        for row in sorted(self.rows, key=lambda r: r["event"].aggregate_version):  # type: ignore[attr-defined]
            event: OutboxEvent = row["event"]  # type: ignore[assignment]
            if row["state"] == OutboxState.SENT or event.aggregate_id in blocked:
                continue
            free = row["state"] == OutboxState.PENDING and row["claimed_by"] is None
            if not free or len(claimed) >= limit:
                blocked.add(event.aggregate_id)
                continue
            row["claimed_by"] = relay_id
            claimed.append(event)
        return claimed

    def mark_sent(self, events: Sequence[OutboxEvent]) -> None:
        for event in events:
            row = self._row(event)
            row["state"], row["claimed_by"] = OutboxState.SENT, None
            self.sent.append(event.event_id)

    def park(self, relay_id: str, event: OutboxEvent, reason: str) -> None:
        row = self._row(event)
        row["state"], row["claimed_by"], row["reason"] = OutboxState.PARKED, None, reason

    def reschedule(self, relay_id: str, retries: Sequence[Retry]) -> None:
        for retry in retries:
            row = self._row(retry.event)
            row["claimed_by"], row["reason"], row["not_before"] = (
                None,
                retry.reason,
                retry.not_before,
            )
            row["event"] = retry.event._replace(attempts=retry.event.attempts + 1)

    def release(self, relay_id: str, events: Sequence[OutboxEvent] | None = None) -> None:
        for row in self.rows:
            event: OutboxEvent = row["event"]  # type: ignore[assignment]
            if row["claimed_by"] == relay_id and (
                events is None or event.event_id in {e.event_id for e in events}
            ):
                row["claimed_by"] = None
                self.released.append(event.event_id)

    def retry(self, event_id: uuid.UUID) -> bool:
        row = self.state_of(event_id)
        if row["state"] != OutboxState.PARKED:
            return False
        row["state"] = OutboxState.PENDING
        return True

    def cleanup(self, older_than: timedelta, batch_size: int, max_batches: int) -> int:
        return 0

    def status(self, parked_limit: int = 100) -> OutboxStatus:
        pending = [r for r in self.rows if r["state"] == OutboxState.PENDING]
        parked = [r for r in self.rows if r["state"] == OutboxState.PARKED]
        return OutboxStatus(
            backlog=len(pending),
            oldest_unsent_age=timedelta(seconds=1) if pending else None,
            parked=tuple(
                ParkedEvent(
                    r["event"].event_id,  # type: ignore[attr-defined]
                    r["event"].aggregate_id,  # type: ignore[attr-defined]
                    r["event"].aggregate_version,  # type: ignore[attr-defined]
                    r["event"].record_type,  # type: ignore[attr-defined]
                    0,
                    str(r["reason"]),
                    NOW,
                )
                for r in parked[:parked_limit]
            ),
            parked_count=len(parked),
        )


class FakePending(PendingDeliveries):
    """The reports of a batch, scripted as one :class:`Delivery` per message, in order."""

    def __init__(self, deliveries: list[Delivery]) -> None:
        self.deliveries = deliveries

    def wait(self) -> Deliveries:
        acked = DeliveryOutcome.ACKED
        return Deliveries(
            len(self.deliveries),
            {i: d for i, d in enumerate(self.deliveries) if d.outcome is not acked},
            [d.latency for d in self.deliveries if d.outcome is acked and d.latency is not None],
        )


class FakePublisher(EventPublisher):
    """Acks everything, unless told an outcome for an event id."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []
        self.outcomes: dict[str, DeliveryOutcome] = {}
        self.closed = False

    def send(self, messages: Sequence[OutgoingMessage]) -> PendingDeliveries:
        deliveries = []
        for message in messages:
            event_id = dict(message.headers)["event_id"].decode()
            outcome = self.outcomes.get(event_id, DeliveryOutcome.ACKED)
            if outcome is DeliveryOutcome.ACKED:
                self.sent.append(message)
            deliveries.append(
                Delivery(outcome, None if outcome is DeliveryOutcome.ACKED else "boom", 0.001)
            )
        return FakePending(deliveries)

    def close(self) -> None:
        self.closed = True


class FakeWakeup(Wakeup):
    def __init__(self) -> None:
        self.waits = 0
        self.interrupts = 0
        self.relay: OutboxRelay | None = None

    def wait(self, timeout: float) -> bool:
        self.waits += 1
        if self.relay is None:
            return False
        store = self.relay.store
        if isinstance(store, FakeStore) and any(
            row["state"] == OutboxState.PENDING and row["claimed_by"] is None for row in store.rows
        ):
            return True  # rows came in meanwhile: their commit's NOTIFY would wake it
        self.relay.stop()  # idle with nothing left: the test is over
        return False

    def interrupt(self) -> None:
        self.interrupts += 1

    def close(self) -> None:
        pass


class DownRegistry(InMemoryRegistry):
    def lookup(self, subject: str, schema: str) -> None:
        raise RegistryUnreachableError("registry down")


def registry_with(*names: str) -> InMemoryRegistry:
    registry = InMemoryRegistry()
    for subject, cls in subjects(TOPIC).items():
        if cls.__name__ in names:
            registry.register(subject, json.dumps(cls.avro_schema()))
    return registry


def make_relay(
    store: FakeStore,
    publisher: FakePublisher,
    registry: InMemoryRegistry | None = None,
    backoff: tuple[float, float] = (0.0, 0.0),
) -> tuple[OutboxRelay, FakeWakeup]:
    wakeup = FakeWakeup()
    records = {f"{c.avro_schema()['namespace']}.{c.__name__}": c for c in RECORDS}
    relay = OutboxRelay(
        store,
        publisher,
        SchemaHeaders(
            registry or registry_with("UserRegistered", "UserUpdated", "UserDeleted"), records
        ),
        wakeup,
        relay_id="unit",
        config=RelayConfig(batch_size=100, backoff_initial=backoff[0], backoff_max=backoff[1]),
        metrics=RelayMetrics(),
        now=lambda: NOW,
        rng=lambda: 0.5,
    )
    wakeup.relay = relay
    return relay, wakeup


def history(user: uuid.UUID, versions: int) -> list[NewOutboxEvent]:
    return [
        user_event(TOPIC, user, v, last=v == versions and v > 1) for v in range(1, versions + 1)
    ]


def test_a_batch_is_sent_in_each_users_version_order_keyed_and_headed_then_marked_sent() -> None:
    store, publisher = FakeStore(), FakePublisher()
    alice, bob = uuid.uuid4(), uuid.uuid4()
    events = history(alice, 3) + history(bob, 2)
    store.insert_events(events)
    relay, _ = make_relay(store, publisher)

    relay.run_once()
    relay.settle()

    assert [
        dict(m.headers)["event_id"].decode() for m in publisher.sent if m.key == str(alice).encode()
    ] == [str(e.event_id) for e in events[:3]]
    first = publisher.sent[0]
    headers = dict(first.headers)
    assert headers["event_type"] == b"playball.auth.v1.UserRegistered"
    assert headers["user_version"] == b"1"
    assert first.value[:1] == b"\x00" and first.value[5:] == events[0].payload
    assert sorted(store.sent) == sorted(e.event_id for e in events)
    assert relay.metrics.delivered._value.get() == 5


def test_traceparent_travels_as_a_header() -> None:
    store, publisher = FakeStore(), FakePublisher()
    store.insert_events([user_event(TOPIC, uuid.uuid4(), 1, traceparent="00-abc-def-01")])
    relay, _ = make_relay(store, publisher)
    relay.run_once()
    relay.settle()
    assert dict(publisher.sent[0].headers)["traceparent"] == b"00-abc-def-01"


def test_an_event_without_a_registered_schema_is_parked_and_holds_back_only_its_user() -> None:
    store, publisher = FakeStore(), FakePublisher()
    poisoned, other = uuid.uuid4(), uuid.uuid4()
    blocked = history(poisoned, 3)  # v2 is a UserUpdated, whose subject is not registered
    fine = [user_event(TOPIC, other, 1)]
    store.insert_events(blocked + fine)
    relay, _ = make_relay(store, publisher, registry_with("UserRegistered", "UserDeleted"))

    relay.run_once()
    relay.settle()

    assert store.sent == [blocked[0].event_id, fine[0].event_id]
    parked = store.state_of(blocked[1].event_id)
    assert parked["state"] == OutboxState.PARKED
    assert "not registered" in str(parked["reason"])
    assert store.state_of(blocked[2].event_id)["state"] == OutboxState.PENDING
    assert blocked[2].event_id in store.released  # handed back untried, no attempt counted
    # the next round does not hand out the user's later event while v2 is parked
    relay.run_once()
    relay.settle()
    assert blocked[2].event_id not in store.sent
    assert store.retry(blocked[1].event_id)


def test_an_event_written_by_another_schema_version_is_parked() -> None:
    store, publisher = FakeStore(), FakePublisher()
    event = user_event(TOPIC, uuid.uuid4(), 1)
    store.insert_events([dataclasses.replace(event, schema_fingerprint="0" * 64)])
    relay, _ = make_relay(store, publisher)
    relay.run_once()
    relay.settle()
    row = store.rows[0]
    assert row["state"] == OutboxState.PARKED
    assert "another version" in str(row["reason"])
    assert publisher.sent == []


def test_failed_deliveries_are_rescheduled_with_backoff_and_counted_by_reason() -> None:
    store, publisher = FakeStore(), FakePublisher()
    events = [user_event(TOPIC, uuid.uuid4(), 1) for _ in range(3)]
    store.insert_events(events)
    publisher.outcomes[str(events[0].event_id)] = DeliveryOutcome.POSSIBLY_PERSISTED
    publisher.outcomes[str(events[1].event_id)] = DeliveryOutcome.RETRIABLE
    relay, _ = make_relay(store, publisher)

    relay.run_once()
    relay.settle()

    assert store.sent == [events[2].event_id]
    for event in events[:2]:
        row = store.state_of(event.event_id)
        assert row["state"] == OutboxState.PENDING and row["claimed_by"] is None
        assert row["event"].attempts == 1  # type: ignore[attr-defined]
        assert row["not_before"] is not None and row["not_before"] >= NOW  # type: ignore[operator]
    retries = relay.metrics.retries
    assert retries.labels(reason="possibly_persisted")._value.get() == 1
    assert retries.labels(reason="broker")._value.get() == 1


def test_a_message_the_broker_refuses_for_good_is_parked() -> None:
    store, publisher = FakeStore(), FakePublisher()
    event = user_event(TOPIC, uuid.uuid4(), 1)
    store.insert_events([event])
    publisher.outcomes[str(event.event_id)] = DeliveryOutcome.FATAL
    relay, _ = make_relay(store, publisher)
    relay.run_once()
    relay.settle()
    assert store.state_of(event.event_id)["state"] == OutboxState.PARKED


def test_a_registry_outage_gives_everything_back_and_parks_nothing() -> None:
    store, publisher = FakeStore(), FakePublisher()
    events = [user_event(TOPIC, uuid.uuid4(), 1) for _ in range(3)]
    store.insert_events(events)
    relay, _ = make_relay(store, publisher, DownRegistry())
    relay.run_once()
    relay.settle()
    assert publisher.sent == []
    for event in events:
        row = store.state_of(event.event_id)
        assert row["state"] == OutboxState.PENDING and row["claimed_by"] is None
        assert "registry" in str(row["reason"])


def test_run_stops_on_request_closes_the_producer_and_releases_its_claims() -> None:
    store, publisher = FakeStore(), FakePublisher()
    store.insert_events(history(uuid.uuid4(), 2))
    relay, wakeup = make_relay(store, publisher)
    relay.run()  # the fake wake-up asks it to stop once it is idle
    assert wakeup.waits == 1
    assert publisher.closed
    assert len(store.sent) == 2
    assert all(row["claimed_by"] is None for row in store.rows)


class AnswerLostStore(FakeStore):
    """Its first claim leases rows on the "server", then loses the answer."""

    def __init__(self) -> None:
        super().__init__()
        self.claims = 0

    def claim_batch(self, relay_id: str, limit: int, lease: timedelta) -> list[OutboxEvent]:
        self.claims += 1
        claimed = super().claim_batch(relay_id, limit, lease)
        if self.claims == 1:
            raise StoreUnavailableError("server closed the connection unexpectedly")
        return claimed


def test_rows_a_lost_claim_answer_left_leased_are_given_back_once_the_database_answers() -> None:
    store, publisher = AnswerLostStore(), FakePublisher()
    events = history(uuid.uuid4(), 3) + history(uuid.uuid4(), 2)
    store.insert_events(events)
    relay, _ = make_relay(store, publisher)
    relay.run()  # the fake lease never expires: only giving them back delivers them
    assert sorted(store.sent) == sorted(e.event_id for e in events)
    assert len(publisher.sent) == len(events)  # each once


class RescheduleFailsOnceStore(FakeStore):
    """Recording a retry fails once (the database drops); claims bring a newcomer along."""

    def __init__(self, newcomer: NewOutboxEvent) -> None:
        super().__init__()
        self.newcomer: NewOutboxEvent | None = newcomer
        self.failed = False

    def claim_batch(self, relay_id: str, limit: int, lease: timedelta) -> list[OutboxEvent]:
        claimed = super().claim_batch(relay_id, limit, lease)
        if self.newcomer is not None:  # committed while the first batch is in flight
            self.insert_events([self.newcomer])
            self.newcomer = None
        return claimed

    def reschedule(self, relay_id: str, retries: Sequence[Retry]) -> None:
        if not self.failed:
            self.failed = True
            raise StoreUnavailableError("server closed the connection unexpectedly")
        super().reschedule(relay_id, retries)


class FailsOncePublisher(FakePublisher):
    def send(self, messages: Sequence[OutgoingMessage]) -> PendingDeliveries:
        pending = super().send(messages)
        self.outcomes.clear()  # a retry of the same event goes through
        return pending


def test_a_batch_with_the_producer_is_settled_even_when_settling_the_one_before_fails() -> None:
    first, newcomer = user_event(TOPIC, uuid.uuid4(), 1), user_event(TOPIC, uuid.uuid4(), 1)
    store, publisher = RescheduleFailsOnceStore(newcomer), FailsOncePublisher()
    store.insert_events([first])
    publisher.outcomes[str(first.event_id)] = DeliveryOutcome.RETRIABLE
    relay, _ = make_relay(store, publisher)
    # batch 1 (first) fails to deliver and recording its retry fails; batch 2 (newcomer)
    # is with the producer when waiting for batch 1 raises
    relay.run()
    assert sorted(store.sent) == sorted([first.event_id, newcomer.event_id])
    sent_ids = [dict(m.headers)["event_id"].decode() for m in publisher.sent]
    assert sent_ids.count(str(newcomer.event_id)) == 1  # acks recorded, not sent twice


@pytest.mark.parametrize("attempt", range(12))
def test_backoff_grows_exponentially_is_capped_and_jittered(attempt: int) -> None:
    low, high = Backoff(0.1, 30.0, rng=lambda: 0.0), Backoff(0.1, 30.0, rng=lambda: 1.0)
    step = min(30.0, 0.1 * 2**attempt)
    assert low.delay(attempt) == pytest.approx(step / 2)
    assert high.delay(attempt) == pytest.approx(step)


def _keyed(aggregate_id: str) -> OutboxEvent:
    return OutboxEvent(
        1, uuid.uuid4(), aggregate_id, 1, "r", "t", "s", b"", "f", {}, datetime.now(UTC), 0
    )


@pytest.mark.parametrize(
    "written",
    [
        "0f8e2d1c-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
        "0F8E2D1C-3B4A-4C5D-8E6F-7A8B9C0D1E2F",
        "{0f8e2d1c-3b4a-4c5d-8e6f-7a8b9c0d1e2f}",
        "0f8e2d1c3b4a4c5d8e6f7a8b9c0d1e2f",
    ],
)
def test_the_message_key_is_the_canonical_uuid_string_however_the_id_was_written(
    written: str,
) -> None:
    assert message_key(_keyed(written)) == b"0f8e2d1c-3b4a-4c5d-8e6f-7a8b9c0d1e2f"


def test_an_aggregate_id_that_is_no_uuid_cannot_key_a_message() -> None:
    for _ in range(2):  # nor the second time (a refusal is not remembered as a key)
        with pytest.raises(UndeliverableEventError, match="not a UUID"):
            message_key(_keyed("user-42"))


@settings(max_examples=200)
@given(value=st.uuids())
def test_the_event_id_header_is_the_uuids_canonical_text(value: uuid.UUID) -> None:
    assert uuid_text(value) == str(value).encode()


class HeldPending(PendingDeliveries):
    def __init__(self, count: int, release: threading.Event) -> None:
        self.count = count
        self.release = release

    def wait(self) -> Deliveries:
        assert self.release.wait(30), "the test never released the acks"
        return Deliveries(self.count, {}, [0.001] * self.count)


class HeldPublisher(FakePublisher):
    """Takes messages at once; their acks come only when the test releases them."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def send(self, messages: Sequence[OutgoingMessage]) -> PendingDeliveries:
        self.sent.extend(messages)
        return HeldPending(len(messages), self.release)


def relay_waking_on(store: FakeStore, publisher: FakePublisher) -> tuple[OutboxRelay, PollWakeup]:
    wakeup = PollWakeup()
    relay = OutboxRelay(
        store,
        publisher,
        SchemaHeaders(
            registry_with("UserRegistered", "UserUpdated", "UserDeleted"),
            {f"{c.avro_schema()['namespace']}.{c.__name__}": c for c in RECORDS},
        ),
        wakeup,
        relay_id="unit",
        # no poll in the test's time: only a wake-up or a settled batch starts a claim
        config=RelayConfig(batch_size=100, poll_interval=60.0),
        metrics=RelayMetrics(),
        now=lambda: NOW,
    )
    return relay, wakeup


def keys_sent(publisher: FakePublisher) -> list[bytes | None]:
    return [m.key for m in publisher.sent]


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def test_new_rows_of_another_user_go_out_while_a_batch_still_waits_for_its_acks() -> None:
    store, publisher = FakeStore(), HeldPublisher()
    alice, bob = uuid.uuid4(), uuid.uuid4()
    store.insert_events(history(alice, 1))
    relay, wakeup = relay_waking_on(store, publisher)
    assert relay.run_once() == 1  # alice v1 sent; its acks are held
    looking = ThreadPoolExecutor(1).submit(relay.run_once)  # nothing claimable: it waits

    store.insert_events(history(bob, 1))
    wakeup.interrupt()  # as the NOTIFY of bob's commit does

    wait_until(lambda: str(bob).encode() in keys_sent(publisher))
    assert store.sent == []  # alice's batch has not settled yet
    publisher.release.set()
    assert looking.result(30) == 1
    relay.settle()
    assert len(store.sent) == 2


def test_a_settled_batch_ends_the_wait_and_its_users_later_rows_go_out() -> None:
    store, publisher = FakeStore(), HeldPublisher()
    alice = uuid.uuid4()
    first, second = history(alice, 2)
    store.insert_events([first])
    relay, _ = relay_waking_on(store, publisher)
    assert relay.run_once() == 1
    store.insert_events([second])  # held back: alice's v1 is in flight
    looking = ThreadPoolExecutor(1).submit(relay.run_once)

    publisher.release.set()  # v1 acked and marked: that alone ends the wait, no wake-up

    assert looking.result(30) == 1
    assert [dict(m.headers)["user_version"] for m in publisher.sent] == [b"1", b"2"]


def test_batches_failing_one_after_another_make_the_pause_grow(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A broker outage fails batch after batch. Each failed batch pauses, and the next
    failure pauses twice as long: a round that claims and sends without an error is no
    recovery (its deliveries come in on the settling thread, in the round after). A batch
    delivered whole ends the run of failures, and only then is the relay "recovered"."""
    store, publisher = FakeStore(), FakePublisher()
    relay, _ = make_relay(store, publisher, backoff=(0.5, 8.0))
    pauses: list[float] = []
    monkeypatch.setattr(relay._lifecycle, "pause", pauses.append)

    def round_of(outcome: DeliveryOutcome | None) -> None:
        event = user_event(TOPIC, uuid.uuid4(), 1)  # a user of its own
        store.insert_events([event])
        if outcome is None:
            publisher.outcomes.clear()  # the broker is back: every delivery is acked
        else:
            publisher.outcomes[str(event.event_id)] = outcome
        relay._round()  # sends it, and settles the batch of the round before

    caplog.set_level("INFO", logger="playball_events.outbox.relay")
    for _ in range(4):
        round_of(DeliveryOutcome.POSSIBLY_PERSISTED)
    relay.settle()
    # equal jitter at 0.5: three quarters of 0.5, 1, 2 and 4 s
    assert pauses == [0.375, 0.75, 1.5, 3.0]
    assert "recovered" not in caplog.text

    round_of(None)  # the failed rows go out again, delivered this time
    round_of(None)  # settles that batch, delivered whole: recovered
    assert caplog.text.count("recovered") == 1
    round_of(DeliveryOutcome.POSSIBLY_PERSISTED)
    relay.settle()  # a new failure: back to the first step
    assert pauses == [0.375, 0.75, 1.5, 3.0, 0.375]


def test_the_status_query_run_beside_the_loop_sets_the_gauges_once_answered() -> None:
    store = FakeStore()
    store.insert_events(history(uuid.uuid4(), 3))
    relay, _wakeup = make_relay(store, FakePublisher())
    queries: list[tuple[Future[OutboxStatus], Callable[[], OutboxStatus]]] = []

    def beside(query: Callable[[], OutboxStatus]) -> Future[OutboxStatus]:
        queries.append((Future(), query))
        return queries[-1][0]

    relay._beside = beside  # as the log-based relay gives its catch-up relay
    relay.metrics.backlog.set(-1)  # not yet known

    relay.housekeeping()  # asks, does not wait
    assert len(queries) == 1
    assert relay.metrics.backlog._value.get() == -1
    relay.housekeeping()  # still running: not asked again, nothing set
    assert len(queries) == 1

    future, query = queries[0]
    future.set_result(query())
    relay.housekeeping()  # answered: the gauges follow
    assert relay.metrics.backlog._value.get() == 3
