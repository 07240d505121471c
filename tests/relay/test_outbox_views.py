"""A polling relay beside a log-based one claims nothing while the log-based relay's slot
streams, and claims again once it does not (:class:`BesideTheLog`), against fakes."""

import logging
import uuid
from datetime import timedelta

import pytest
from playball_events.outbox.metrics import RelayMetrics
from playball_events.outbox.ports import SlotStatus, StoreUnavailableError
from playball_events.outbox.relay import OutboxRelay, RelayConfig
from playball_events.outbox.schema_ids import SchemaHeaders
from playball_events.outbox.views import SLOT_CHECK, BesideTheLog
from playball_events.outbox.wakeup import PollWakeup
from support.outbox import RECORDS

from relay.test_relay_core import NOW, FakePublisher, FakeStore, history, registry_with
from relay.test_wal_relay_core import Clock, FakeSlotMonitor

LEASE = timedelta(seconds=30)


class CountingSlotMonitor(FakeSlotMonitor):
    """A slot that is there; ``active_pid`` set while a log-based relay streams it."""

    def __init__(self) -> None:
        super().__init__()
        self.looks = 0
        self.down = False
        self.closed = False

    def status(self) -> SlotStatus:
        self.looks += 1
        if self.down:
            raise StoreUnavailableError("connection refused")
        return super().status()

    def close(self) -> None:
        self.closed = True


def beside_the_log() -> tuple[FakeStore, CountingSlotMonitor, Clock, BesideTheLog]:
    store, slots, clock = FakeStore(), CountingSlotMonitor(), Clock()
    store.insert_events(history(uuid.uuid4(), 2))
    return store, slots, clock, BesideTheLog(store, slots, monotonic=clock.monotonic)


def polling_relay(view: BesideTheLog, publisher: FakePublisher) -> OutboxRelay:
    records = {f"{c.avro_schema()['namespace']}.{c.__name__}": c for c in RECORDS}
    return OutboxRelay(
        view,
        publisher,
        SchemaHeaders(registry_with("UserRegistered", "UserUpdated", "UserDeleted"), records),
        PollWakeup(),
        relay_id="poll",
        config=RelayConfig(batch_size=100),
        metrics=RelayMetrics(),
        now=lambda: NOW,
    )


def test_nothing_is_claimed_while_the_slot_streams_and_all_once_it_does_not() -> None:
    store, slots, clock, view = beside_the_log()
    slots.active_pid = 4242

    assert view.claim_batch("poll", 100, LEASE) == []
    assert all(row["claimed_by"] is None for row in store.rows)

    slots.active_pid = None  # the log-based relay stopped
    clock.advance(SLOT_CHECK)
    assert len(view.claim_batch("poll", 100, LEASE)) == 2


def test_the_slot_is_looked_at_once_a_second_at_most() -> None:
    _store, slots, clock, view = beside_the_log()
    slots.active_pid = 4242
    for _ in range(5):
        view.claim_batch("poll", 100, LEASE)
    assert slots.looks == 1
    slots.active_pid = None
    clock.advance(SLOT_CHECK / 2)
    assert view.claim_batch("poll", 100, LEASE) == []  # the last look still holds
    clock.advance(SLOT_CHECK / 2)
    assert len(view.claim_batch("poll", 100, LEASE)) == 2
    assert slots.looks == 2


def test_each_change_of_the_slot_is_logged_and_told_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, slots, clock = FakeStore(), CountingSlotMonitor(), Clock()
    told: list[bool] = []
    view = BesideTheLog(store, slots, on_standby=told.append, monotonic=clock.monotonic)
    with caplog.at_level(logging.WARNING, logger="playball_events.outbox.views"):
        view.claim_batch("poll", 100, LEASE)  # no relay streams: nothing to say
        slots.active_pid = 4242
        for _ in range(3):
            clock.advance(SLOT_CHECK)
            view.claim_batch("poll", 100, LEASE)
        slots.active_pid = None
        for _ in range(3):
            clock.advance(SLOT_CHECK)
            view.claim_batch("poll", 100, LEASE)
    assert [r.getMessage() for r in caplog.records] == [
        "outbox: a log-based relay streams slot playball_outbox_unit (process 4242): this "
        "polling relay claims nothing while it does (it would send every event twice)",
        "outbox: the log-based relay's slot is not streamed: claiming again",
    ]
    assert told == [True, False]  # the standby gauge's values, as the runner wires it


def test_a_database_that_does_not_answer_the_look_is_an_outage_of_the_round() -> None:
    _store, slots, _clock, view = beside_the_log()
    slots.down = True
    with pytest.raises(StoreUnavailableError):
        view.claim_batch("poll", 100, LEASE)


def test_a_polling_relay_beside_a_streaming_slot_sends_nothing_then_everything() -> None:
    store, slots, clock, view = beside_the_log()
    publisher = FakePublisher()
    relay = polling_relay(view, publisher)
    slots.active_pid = 4242
    assert relay.run_once() == 0
    relay.settle()
    assert publisher.sent == []

    slots.active_pid = None
    clock.advance(SLOT_CHECK)
    assert relay.run_once() == 2
    relay.settle()
    assert len(publisher.sent) == 2
    assert len(store.sent) == 2  # marked sent through the view


def test_a_polling_relay_beside_the_log_closes_its_look_at_the_slot_when_it_stops() -> None:
    """The slot monitor holds a connection of its own: the relay's stop frees it."""
    _store, slots, _clock, view = beside_the_log()
    relay = polling_relay(view, FakePublisher())
    relay.stop()  # before it runs: run() goes straight to its shutdown
    relay.run()
    assert slots.closed
