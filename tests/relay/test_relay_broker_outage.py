"""The broker stopped under write load: writes keep committing, the relays ride out the
outage (deliveries time out, possibly persisted, and are retried), the backlogs drain
after the restart, and nothing is lost. The polling relay and the log-based one go
through the same outage side by side, each over an outbox and a topic of its own: a
broker stop and start is the dearest step of the test. On a PRIVATE single-broker Kafka
on other ports (shared with the end-to-end broker outage, one test at a time), never the
shared one."""

import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.outbox.store_sql import SqlOutboxStore
from playball_stack.stack import Stack
from support.private_kafka import running_cluster

from relay.conftest import (
    RelayProcesses,
    delivered_at_least,
    drained,
    ensure_topic,
    fresh_outbox,
    open_slot,
    read_topic,
    register_subjects,
    wait_for,
)
from relay.test_relay_faults import assert_order_and_nothing_lost
from relay.writers import ContinuousWriter

pytestmark = [pytest.mark.stack, pytest.mark.slow]

CAPTURES = ("poll", "wal")
# per relay: writes go on through the whole outage, and the broker's restart (a JVM
# start, seconds on a busy machine) sets how many pile up; 100/s still builds a backlog
# of several hundred events per relay, at half the suite's CPU of 200/s
WRITES_PER_SECOND = 100


@pytest.fixture
def private_kafka(outage_kafka: Stack) -> Stack:
    """The session's private single broker (tests/conftest.py: ``outage_kafka``), running:
    seeded with the session's passwords and CA, so the admin and relay principals work."""
    return running_cluster(outage_kafka)


@dataclass(frozen=True)
class Lane:
    """One relay's share: its capture, outbox, topic and writer."""

    capture: str
    store: SqlOutboxStore
    topic: str
    writer: ContinuousWriter

    def delivered(self, count: int) -> bool:
        """Whether ``count`` of its rows were sent (marked sent, or removed once acked)."""
        return delivered_at_least(self.store, lambda: len(self.writer.committed), count)()

    def backlog(self) -> int:
        return self.store.status(parked_limit=0).backlog


@pytest.mark.xdist_group("outage-kafka")
def test_broker_stopped_under_write_load_then_restarted_loses_nothing_either_capture(
    *,
    private_kafka: Stack,
    database_url: str,
    unique_name: str,
    grant_acls: Callable[[str, str], None],
    relays: RelayProcesses,
    registry_url: str,
) -> None:
    bootstrap = private_kafka.kafka_bootstrap
    with ExitStack() as held:
        lanes: list[Lane] = []
        for capture in CAPTURES:
            topic = f"{unique_name}-{capture}"
            ensure_topic(bootstrap, topic)
            grant_acls(bootstrap, topic)
            register_subjects(registry_url, topic)
            url = held.enter_context(fresh_outbox(database_url))
            if capture == "wal":
                open_slot(url)  # the rows below come from the log, not from the table
            store = open_outbox_store(url)
            held.callback(store.engine.dispose)
            relays.start(
                url,
                PLAYBALL_RELAY_CAPTURE=capture,
                PLAYBALL_KAFKA_BOOTSTRAP=bootstrap,
                PLAYBALL_SCHEMA_REGISTRY_URL=registry_url,
                PLAYBALL_RELAY_BATCH_SIZE=200,
                PLAYBALL_RELAY_DELIVERY_TIMEOUT_MS=3000,
                PLAYBALL_RELAY_LEASE_SECONDS=10,
                PLAYBALL_RELAY_BACKOFF_MAX_SECONDS=2,  # resume soon after the broker returns
            )
            users = [uuid.uuid4() for _ in range(50)]
            writer = ContinuousWriter(store, topic, users, per_second=WRITES_PER_SECOND)
            lanes.append(Lane(capture, store, topic, writer))
        for lane in lanes:
            lane.writer.start()
        try:
            wait_for(lambda: all(lane.delivered(100) for lane in lanes), 60, "deliveries")
            private_kafka.kafka_nodes[0].stop()
            during = [len(lane.writer.committed) for lane in lanes]

            def written_since(counts: list[int], more: int) -> Callable[[], bool]:
                return lambda: all(
                    len(lane.writer.committed) >= count + more
                    for lane, count in zip(lanes, counts, strict=True)
                )

            # writes keep committing with the broker down, and the backlogs build up
            wait_for(written_since(during, 250), 60, "writes during the outage")
            wait_for(lambda: all(lane.backlog() >= 150 for lane in lanes), 60, "backlogs")
            private_kafka.up(timeout=180)
            after = [len(lane.writer.committed) for lane in lanes]
            wait_for(written_since(after, 150), 60, "writes after the restart")
        finally:
            for lane in lanes:
                lane.writer.stop()
        for index, lane in enumerate(lanes):
            assert lane.writer.failures == 0  # the database never failed
            wait_for(drained(lane.store), 180, f"the {lane.capture} relay's backlog to drain")
            assert lane.store.status().parked_count == 0
            written = lane.writer.committed
            received = read_topic(bootstrap, lane.topic, {e.event_id for e in written}, 180)
            assert_order_and_nothing_lost(received, written)
            log = relays.log(index)
            assert "possibly_persisted" in log or "deliveries failed" in log, lane.capture
