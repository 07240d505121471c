"""The broker stopped under write load: writes keep committing, the relay rides out the
outage (deliveries time out, possibly persisted, and are retried), the backlog drains
after the restart, and nothing is lost. On a PRIVATE single-broker Kafka on other ports
(shared with the end-to-end broker outage, one test at a time), never the shared one."""

import threading
import uuid
from collections.abc import Callable

import pytest
from playball_events.outbox.model import NewOutboxEvent
from playball_events.outbox.store_sql import SqlOutboxStore
from playball_stack.stack import Stack
from support.outbox import insert_events, user_event
from support.private_kafka import running_cluster

from relay.conftest import (
    RelayProcesses,
    drained,
    ensure_topic,
    open_slot,
    read_topic,
    register_subjects,
    wait_for,
)
from relay.test_relay_faults import assert_order_and_nothing_lost

pytestmark = [pytest.mark.stack, pytest.mark.slow]


@pytest.fixture
def private_kafka(outage_kafka: Stack) -> Stack:
    """The session's private single broker (tests/conftest.py: ``outage_kafka``), running:
    seeded with the session's passwords and CA, so the admin and relay principals work."""
    return running_cluster(outage_kafka)


@pytest.mark.xdist_group("outage-kafka")
@pytest.mark.parametrize("capture", ["poll", "wal"])
def test_broker_stopped_under_write_load_then_restarted_loses_nothing(
    *,
    capture: str,
    private_kafka: Stack,
    store: SqlOutboxStore,
    outbox_url: str,
    unique_name: str,
    grant_acls: Callable[[str, str], None],
    relays: RelayProcesses,
    registry_url: str,
) -> None:
    bootstrap = private_kafka.kafka_bootstrap
    topic = unique_name
    ensure_topic(bootstrap, topic)
    grant_acls(bootstrap, topic)
    register_subjects(registry_url, topic)
    if capture == "wal":
        open_slot(outbox_url)
    relays.start(
        outbox_url,
        PLAYBALL_RELAY_CAPTURE=capture,
        PLAYBALL_KAFKA_BOOTSTRAP=bootstrap,
        PLAYBALL_SCHEMA_REGISTRY_URL=registry_url,
        PLAYBALL_RELAY_BATCH_SIZE=200,
        PLAYBALL_RELAY_DELIVERY_TIMEOUT_MS=3000,
        PLAYBALL_RELAY_LEASE_SECONDS=10,
        PLAYBALL_RELAY_BACKOFF_MAX_SECONDS=2,  # resume soon after the broker returns
    )
    written: list[NewOutboxEvent] = []
    stop_writing = threading.Event()
    users = [uuid.uuid4() for _ in range(50)]

    def write() -> None:
        version = 0
        while not stop_writing.is_set():
            version += 1
            for user in users:
                event = user_event(topic, user, version)
                insert_events(store, [event])  # raises if a write fails: the test fails
                written.append(event)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        wait_for(lambda: store.status(parked_limit=0).sent >= 200, 60, "deliveries to start")
        node = private_kafka.kafka_nodes[0]
        node.stop()
        during = len(written)
        # writes keep committing with the broker down, and the backlog builds up
        wait_for(lambda: len(written) >= during + 500, 60, "writes during the outage")
        wait_for(lambda: store.status(parked_limit=0).backlog >= 300, 60, "a backlog to build up")
        private_kafka.up(timeout=180)
        wait_for(lambda: len(written) >= during + 1000, 60, "writes after the restart")
    finally:
        stop_writing.set()
        writer.join()
    wait_for(drained(store), 180, "the backlog to drain after the restart")
    status = store.status()
    assert status.parked_count == 0
    received = read_topic(bootstrap, topic, {e.event_id for e in written}, timeout=180)
    assert_order_and_nothing_lost(received, written)
    assert "possibly_persisted" in relays.log(0) or "deliveries failed" in relays.log(0)
