"""A 3-node KRaft cluster on loopback: a replication-factor-3 topic survives losing a broker."""

import shlex
from pathlib import Path

import pytest
from confluent_kafka import Producer
from playball_stack.stack import Stack
from support.kafka import client_config, consume, create_topic
from support.private_kafka import running_cluster

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.cluster]


@pytest.fixture
def cluster(kafka_cluster: Stack) -> Stack:
    """The session's 3-node cluster, every node running (conftest.kafka_cluster)."""
    return running_cluster(kafka_cluster)


def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = Producer(client_config(bootstrap, acks="all", **{"enable.idempotence": True}))
    for value in values:
        producer.produce(topic, key=value, value=value)
    assert producer.flush(60) == 0


def test_rf3_topic_survives_killing_one_broker(cluster: Stack, unique_name: str) -> None:
    bootstrap = cluster.kafka_bootstrap
    create_topic(
        bootstrap, unique_name, partitions=3, replication=3, config={"min.insync.replicas": "2"}
    )
    before = [f"before-{i}".encode() for i in range(50)]
    produce(bootstrap, unique_name, before)

    victim = cluster.kafka_nodes[0]
    victim.kill()
    assert victim.pid() is None

    after = [f"after-{i}".encode() for i in range(50)]
    produce(bootstrap, unique_name, after)

    values = sorted(value or b"" for _key, value in consume(bootstrap, unique_name, expected=100))
    assert values == sorted(before + after)


def test_each_node_runs_with_the_configured_extra_jvm_options(cluster: Stack) -> None:
    # private_kafka sets PLAYBALL_KAFKA_JVM_OPTIONS' field; every node must have received it
    wanted = shlex.split(cluster.settings.kafka_jvm_options)
    assert wanted
    running = [pid for node in cluster.kafka_nodes if (pid := node.pid()) is not None]
    assert running  # the other test kills one node of three at most
    for pid in running:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert all(option.encode() in argv for option in wanted), argv
