"""A bounded soak (R15): a steady write rate for a fixed number of events, the relay
delivering and its cleanup removing sent rows after a short retention.

The table must stay bounded by what a few seconds of writes add (not grow with the total
written), the backlog must drain, and nothing unsent may ever be deleted: every event
written reaches the topic, each user's versions in order.
"""

import threading
import time
import uuid
from dataclasses import dataclass, field

import pytest
from playball_events.outbox.model import NewOutboxEvent
from playball_events.outbox.store_sql import SqlOutboxStore
from support.outbox import insert_events, user_event

from relay.conftest import RelayProcesses, drained, read_topic, wait_for
from relay.test_relay_faults import assert_order_and_nothing_lost, relay_env

pytestmark = [pytest.mark.stack, pytest.mark.slow]

RATE = 100  # events per second, each its own transaction
TOTAL = 1600  # so ~16 s of writes: some 16 retention periods, the suite's CPU spared
RETENTION = 1.0  # seconds a sent row is kept
CLEANUP_INTERVAL = 0.5
# Room for the relay's delivery lag and one cleanup round's own time on a busy machine:
# a row may live from its write until retention + interval + this after it was sent.
SLACK = 5.0
BOUND = int(RATE * (RETENTION + CLEANUP_INTERVAL + SLACK))


def paced_writes(store: SqlOutboxStore, topic: str, users: int) -> list[NewOutboxEvent]:
    """``TOTAL`` events at no more than ``RATE`` per second, round-robin over the users.

    Behind schedule (a busy machine) it does not catch up in a burst: the rate is an
    upper bound, which is what the table's bound is derived from.
    """
    ids = [uuid.uuid4() for _ in range(users)]
    versions = dict.fromkeys(ids, 1)
    written: list[NewOutboxEvent] = []
    tick = 0.05
    per_tick = int(RATE * tick)
    next_tick = time.monotonic()
    while len(written) < TOTAL:
        for _ in range(per_tick):
            user = ids[len(written) % users]
            event = user_event(topic, user, versions[user])
            insert_events(store, [event])
            written.append(event)
            versions[user] += 1
        next_tick = max(next_tick + tick, time.monotonic())
        time.sleep(max(0.0, next_tick - time.monotonic()))
    return written


@dataclass
class RowCounter:
    """Samples the table's row count (pending + sent + parked) until stopped."""

    store: SqlOutboxStore
    samples: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="row-counter")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            status = self.store.status(parked_limit=0)
            self.samples.append(status.backlog + status.sent + status.parked_count)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)


def test_a_steady_stream_keeps_the_outbox_bounded_and_cleanup_never_deletes_unsent_rows(
    *,
    store: SqlOutboxStore,
    outbox_url: str,
    topic: str,
    relays: RelayProcesses,
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    # the bound must be far below the total, or a cleanup that never runs would pass
    assert TOTAL > 2 * BOUND
    relay = relays.start(
        outbox_url,
        **relay_env(
            kafka_bootstrap,
            registry_url,
            PLAYBALL_RELAY_RETENTION_SECONDS=RETENTION,
            PLAYBALL_RELAY_CLEANUP_INTERVAL=CLEANUP_INTERVAL,
        ),
    )
    counter = RowCounter(store)
    counter.start()
    try:
        written = paced_writes(store, topic, users=200)
        wait_for(drained(store), 60, "the backlog to drain")
        # every sent row goes once its retention is over: the table empties
        wait_for(lambda: store.status(parked_limit=0).sent == 0, 60, "cleanup to empty it")
    finally:
        counter.stop()

    assert relay.poll() is None, relays.log(0)
    assert len(counter.samples) >= 30  # sampled all along the ~16 s of writes
    assert max(counter.samples) <= BOUND, f"outbox grew to {max(counter.samples)} rows"
    assert store.status(parked_limit=0).parked_count == 0
    # cleanup rounds did the removing (each logs once its DELETE has committed)
    wait_for(lambda: "removed" in relays.log(0), 30, "the relay to log its cleanup")
    # nothing was deleted unsent: every event written is on the topic, in order per user
    received = read_topic(kafka_bootstrap, topic, {e.event_id for e in written}, timeout=120)
    assert_order_and_nothing_lost(received, written)
