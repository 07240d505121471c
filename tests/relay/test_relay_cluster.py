"""A broker of a 3-node cluster hard-killed under write load (R5).

On a PRIVATE 3-node KRaft cluster started here on free ports (every node a broker and a
controller), never the shared broker. The topic is made the project's way (TopicsAdmin:
replication factor 3 and min.insync.replicas 2 on a 3-broker cluster), so losing one
broker must be a non-event for delivery: the relay runs as its own process, writes go on
one event per transaction, and the node that is the active KRaft controller and leads
partitions of the topic is SIGKILLed mid-stream. Its partitions fail over, the rest stall
until the controller fences it and shrinks their ISR; the idempotent producer retries
through both.

The node is NOT restarted: what R5 claims is that two of three replicas carry on alone,
so the outbox must drain while it is still dead. A restart would only add a JVM start
(slow on a loaded 2-core machine) to test the broker's recovery, not the relay's, and the
relay reconnecting to a broker that comes back is test_relay_broker_outage.py's case.
"""

import functools
import json
import re
import subprocess
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource
from playball_events.outbox.model import NewOutboxEvent
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.outbox.store_sql import SqlOutboxStore
from playball_events.topics_admin_kafka import (
    CLUSTER_MIN_INSYNC,
    CLUSTER_REPLICATION,
    PARTITIONS,
)
from playball_stack.components.kafka import KafkaNode
from playball_stack.stack import Stack
from support.kafka import client_config
from support.private_kafka import running_cluster

from relay.conftest import (
    Received,
    RelayProcesses,
    drained,
    ensure_topic,
    first_occurrence_versions,
    fresh_outbox,
    read_topic,
    register_subjects,
    wait_for,
)
from relay.test_relay_faults import relay_env
from relay.writers import ContinuousWriter

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.cluster]

# Each relay's writer goes round USERS users at PER_SECOND events/s: a round every 1.2 s,
# so every user has versions before, during and after the kill. The faults take as long
# whatever the rate (fencing, failover, a JVM start); 120 users at 100/s cost the suite
# twice the CPU (written, relayed, replicated three times, read back) for the same claim.
USERS = 60
PER_SECOND = 50
# broker.session.timeout.ms (Kafka's default, which the stack keeps): how long the
# controller waits before it fences a broker that stopped heartbeating
FENCING_MS = 9_000


@pytest.fixture
def cluster(kafka_cluster: Stack) -> Stack:
    """The session's 3-node cluster, every node running (conftest.kafka_cluster)."""
    return running_cluster(kafka_cluster)


def partition_leaders(admin: AdminClient, topic: str) -> dict[int, int]:
    """Partition -> id of its leader (-1 while it has none)."""
    metadata = admin.list_topics(topic, timeout=10)
    return {p: meta.leader for p, meta in metadata.topics[topic].partitions.items()}


def assert_replicated_as_the_project_wants(admin: AdminClient, topic: str) -> None:
    """RF 3 with every replica in sync, and min.insync.replicas 2, read back from Kafka."""

    partitions: dict[int, Any] = {}

    def known() -> bool:  # the broker asked may not have applied the new topic yet
        meta = admin.list_topics(topic, timeout=10).topics[topic]
        partitions.clear()
        partitions.update(meta.partitions)
        return meta.error is None

    wait_for(known, 30, f"a broker to know topic {topic}")
    assert len(partitions) == PARTITIONS
    for meta in partitions.values():
        assert len(meta.replicas) == CLUSTER_REPLICATION
        assert sorted(meta.isrs) == sorted(meta.replicas)
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    config = admin.describe_configs([resource])[resource].result(timeout=20)
    assert config["min.insync.replicas"].value == str(CLUSTER_MIN_INSYNC)


def active_controller(nodes: list[KafkaNode]) -> int | None:
    """The KRaft quorum leader, as the newest epoch any node recorded names it."""
    newest: tuple[int, int] | None = None
    for node in nodes:
        state = node.dir / "data" / "__cluster_metadata-0" / "quorum-state"
        if not state.is_file():
            continue
        recorded = json.loads(state.read_text())
        epoch, leader = int(recorded["leaderEpoch"]), int(recorded["leaderId"])
        if leader >= 0 and (newest is None or epoch > newest[0]):
            newest = (epoch, leader)
    return newest[1] if newest else None


def choose_victim(nodes: list[KafkaNode], leaders: list[dict[int, int]]) -> KafkaNode:
    """A node that leads partitions of every topic (``leaders``, one map per topic): the
    active controller if it does (then the kill moves both the quorum and partition
    leadership), else the one leading the most."""
    leading_all = set.intersection(*(set(topic.values()) for topic in leaders)) - {-1}
    assert leading_all, f"no node leads partitions of every topic: {leaders}"
    led = Counter(leader for topic in leaders for leader in topic.values())
    controller = active_controller(nodes)
    by_id = {node.node_id: node for node in nodes}
    if controller in leading_all:
        return by_id[controller]
    return by_id[max(leading_all, key=lambda node_id: led[node_id])]


def assert_every_committed_event_once_or_more_in_order(
    received: list[Received], committed: list[NewOutboxEvent]
) -> int:
    """The common oracle on the topic; returns how many duplicates it carries."""
    by_id = {event.event_id: event for event in committed}
    assert len(by_id) == len(committed), "the writer committed an event id twice"
    ghosts = [r.event_id for r in received if r.event_id not in by_id]
    assert ghosts == [], f"{len(ghosts)} messages on the topic were never committed"
    for item in received:  # each message is exactly the committed event it claims to be
        event = by_id[item.event_id]
        assert item.key.decode() == event.aggregate_id
        assert item.version == event.aggregate_version
        assert item.value[0] == 0  # Confluent wire format: magic byte, schema id, body
        assert item.value[5:] == event.payload
    missing = by_id.keys() - {r.event_id for r in received}
    assert not missing, f"{len(missing)} committed events never reached the topic"
    expected: dict[str, list[int]] = {}
    for event in committed:
        expected.setdefault(event.aggregate_id, []).append(event.aggregate_version)
    order = first_occurrence_versions(received)
    for user, versions in expected.items():
        assert order[user] == sorted(versions), f"user {user}: first occurrences {order[user]}"
    return len(received) - len(by_id)


def start_writes(
    admin: AdminClient,
    bootstrap: str,
    topic: str,
    registry_url: str,
    relays: RelayProcesses,
    outbox_url: str,
    store: SqlOutboxStore,
    delivery_timeout_ms: int,
) -> tuple["subprocess.Popen[bytes]", ContinuousWriter]:
    """On ``topic`` (made, checked replicated as the project wants, writable by the
    relay's principal, its subjects registered): a relay process, and USERS users writing
    one event per transaction."""
    assert_replicated_as_the_project_wants(admin, topic)
    register_subjects(registry_url, topic)
    relay = relays.start(
        outbox_url,
        **relay_env(
            bootstrap,
            registry_url,
            PLAYBALL_RELAY_BATCH_SIZE=200,
            PLAYBALL_RELAY_DELIVERY_TIMEOUT_MS=delivery_timeout_ms,
        ),
    )
    writer = ContinuousWriter(
        store, topic, [uuid.uuid4() for _ in range(USERS)], per_second=PER_SECOND
    )
    writer.start()
    return relay, writer


# The order of the tests below is the order they run in (one worker runs the cluster's
# tests): this one starts again the nodes it kills, the one after leaves a node dead,
# and no test after it on the cluster needs all three (a node start is a JVM start).
def test_two_of_three_brokers_lost_hold_delivery_back_and_lose_nothing(
    cluster: Stack,
    store: SqlOutboxStore,
    outbox_url: str,
    unique_name: str,
    grant_acls: Callable[[str, str], None],
    relays: RelayProcesses,
    registry_url: str,
) -> None:
    """Two of three nodes SIGKILLed under write load, then started again.

    With one replica left, min.insync.replicas 2 refuses every acks=all write (and the
    KRaft quorum is lost too): nothing can be acked, so nothing may be marked sent. The
    writes go on into the outbox, the relay retries, and when the two nodes are back
    every committed event reaches the topic, in each user's order.
    """
    bootstrap = cluster.kafka_bootstrap
    topic = unique_name
    admin = AdminClient(client_config(bootstrap))
    ensure_topic(bootstrap, topic)
    grant_acls(bootstrap, topic)
    # deliveries time out (and are rescheduled by the relay) during the outage
    relay, writer = start_writes(
        admin, bootstrap, topic, registry_url, relays, outbox_url, store, 5_000
    )
    try:
        wait_for(lambda: store.status(parked_limit=0).sent >= 2 * USERS, 90, "deliveries")
        nodes = cluster.kafka_nodes
        controller = active_controller(nodes)
        victims = sorted(nodes, key=lambda n: n.node_id != controller)[:2]
        for victim in victims:
            victim.kill()
        # the outage is real: committed writes pile up in the outbox, undelivered
        wait_for(
            lambda: store.status(parked_limit=0).backlog >= 2 * USERS,
            120,
            "a backlog while two brokers are dead",
        )
        assert relay.poll() is None, relays.log(0)
        cluster.up(timeout=240)  # starts the two killed nodes again
        assert all(victim.pid() is not None for victim in victims)
    finally:
        writer.stop()
    committed = writer.committed
    assert writer.failures == 0  # the database never failed: every write committed
    wait_for(drained(store), 240, "the outbox to drain once the brokers are back")
    status = store.status()
    assert status.parked_count == 0, status.parked
    assert relay.poll() is None, relays.log(0)  # it rode the outage out
    assert "deliveries failed" in relays.log(0), "no delivery failed: the outage was not seen"
    received = read_topic(bootstrap, topic, {e.event_id for e in committed}, timeout=180)
    duplicates = assert_every_committed_event_once_or_more_in_order(received, committed)
    print(
        f"R5b: killed nodes {[v.node_id for v in victims]} (controller {controller}); "
        f"{len(committed)} events of {USERS} users; {len(received)} messages, "
        f"{duplicates} duplicates"
    )


@dataclass(frozen=True)
class Lane:
    """One relay's share of the test: its delivery timeout, outbox, topic and writer."""

    delivery_timeout_ms: int
    store: SqlOutboxStore
    topic: str
    relay: "subprocess.Popen[bytes]"
    writer: ContinuousWriter
    log: Callable[[], str]

    def sent(self) -> int:
        return self.store.status(parked_limit=0).sent


# Two relays through the same kill, each over an outbox and a topic of its own: a broker
# kill, its failover and the restart after are the dearest steps of the test.
DELIVERY_TIMEOUTS_MS = (
    # the relay's default: librdkafka's own retries carry every message through
    30_000,
    # shorter than the failover stall: in-flight deliveries time out (possibly
    # persisted), the idempotent producer must recover its sequence state, and the
    # relay reschedules and resends them itself
    2_000,
)


def test_a_broker_killed_under_write_load_loses_nothing_and_keeps_order(
    *,
    cluster: Stack,
    database_url: str,
    unique_name: str,
    grant_acls: Callable[[str, str], None],
    relays: RelayProcesses,
    registry_url: str,
) -> None:
    bootstrap = cluster.kafka_bootstrap
    admin = AdminClient(client_config(bootstrap))
    with ExitStack() as held:
        lanes: list[Lane] = []
        for index, timeout_ms in enumerate(DELIVERY_TIMEOUTS_MS):
            topic = f"{unique_name}-{timeout_ms}"
            report = ensure_topic(bootstrap, topic)
            assert topic in report.created
            grant_acls(bootstrap, topic)
            url = held.enter_context(fresh_outbox(database_url))
            store = open_outbox_store(url)
            held.callback(store.engine.dispose)
            relay, writer = start_writes(
                admin, bootstrap, topic, registry_url, relays, url, store, timeout_ms
            )
            lanes.append(
                Lane(timeout_ms, store, topic, relay, writer, functools.partial(relays.log, index))
            )
        try:
            # a steady stream first: every user's first versions delivered, on average
            wait_for(lambda: all(lane.sent() >= 4 * USERS for lane in lanes), 90, "deliveries")
            leaders = [partition_leaders(admin, lane.topic) for lane in lanes]
            victim = choose_victim(cluster.kafka_nodes, leaders)
            was_controller = active_controller(cluster.kafka_nodes) == victim.node_id
            mine = victim.node_id
            led = [sorted(p for p, node in topic.items() if node == mine) for topic in leaders]
            victim.kill()
            assert victim.pid() is None
            written_at_kill = [len(lane.writer.committed) for lane in lanes]

            def failed_over() -> bool:
                try:
                    now = [partition_leaders(admin, lane.topic) for lane in lanes]
                except KafkaException:  # a metadata request that met the dead node: again
                    return False
                return all(
                    topic.get(p, -1) not in (-1, victim.node_id)
                    for topic, partitions in zip(now, led, strict=True)
                    for p in partitions
                )

            wait_for(failed_over, 90, f"partitions {led} to get a new leader")
            # Delivery resumed with one broker dead: more has been sent than was ever
            # written before the kill, so events written after it reached the topics.
            wait_for(
                lambda: all(
                    lane.sent() >= at_kill + 2 * USERS
                    for lane, at_kill in zip(lanes, written_at_kill, strict=True)
                ),
                180,
                "events written after the kill to be delivered",
            )
        finally:
            for lane in lanes:
                lane.writer.stop()
        for lane, at_kill in zip(lanes, written_at_kill, strict=True):
            assert_delivered_through_the_kill(lane, victim, bootstrap)
            print(  # the run's figures, for whoever reads the -s output
                f"R5 ({lane.delivery_timeout_ms} ms delivery timeout): killed node "
                f"{victim.node_id} (active controller: {was_controller}, led partitions "
                f"{led}); {len(lane.writer.committed)} events of {USERS} users, "
                f"{len(lane.writer.committed) - at_kill} written after the kill"
            )


def assert_delivered_through_the_kill(lane: Lane, victim: KafkaNode, bootstrap: str) -> None:
    committed = lane.writer.committed
    assert lane.writer.failures == 0  # the database never failed: every write committed
    wait_for(drained(lane.store), 180, "the outbox to drain with the broker still dead")
    assert victim.pid() is None
    status = lane.store.status()
    assert status.parked_count == 0, status.parked
    log = lane.log()
    assert lane.relay.poll() is None, log  # it rode the kill out; it never exited
    # its producer was connected to the victim when it died (librdkafka logs the loss)
    lost = rf"{re.escape(victim.address())}/{victim.node_id}: (Disconnected|Connect to)"
    assert re.search(lost, log), "the relay never talked to the killed broker"
    if lane.delivery_timeout_ms < FENCING_MS:
        # not a timing bet: the ISR of the partitions the victim followed cannot shrink
        # before the controller fences it, so acks=all produces to them wait for that
        assert "possibly_persisted" in log, "no delivery timed out: path not run"
    received = read_topic(bootstrap, lane.topic, {e.event_id for e in committed}, timeout=180)
    assert_every_committed_event_once_or_more_in_order(received, committed)
    per_user = Counter(e.aggregate_id for e in committed)
    assert len(per_user) == USERS and min(per_user.values()) >= 3
