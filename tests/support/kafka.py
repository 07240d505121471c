"""Kafka helpers for tests: create a topic, read a topic back with a deadline, clean up.

Every client here connects as the services do: with the security settings of the
environment (``PLAYBALL_KAFKA_SECURITY_PROTOCOL`` and the rest, see
:func:`client_config`), so the suite runs unchanged against a secured stack.
"""

import functools
import time
import uuid
from typing import Any

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._acl import (
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
)
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType
from confluent_kafka.cimpl import NewTopic
from playball_events.kafka_errors_kafka import secured_config
from playball_events.kafka_security import kafka_security_from_environment
from playball_events.readers.readers_kafka import create_readers_topic
from playball_events.topics_acls_kafka import AclAdmin


def client_config(bootstrap: str, **settings: Any) -> dict[str, Any]:
    """A client's config for ``bootstrap``, secured as the environment says."""
    return secured_config(
        {"bootstrap.servers": bootstrap, **settings}, kafka_security_from_environment()
    )


@functools.lru_cache(maxsize=16)
def admin_client(bootstrap: str) -> AdminClient:
    """One admin client per cluster and test process, kept: each new client on the
    secured stack costs ~20 ms of CPU (TLS, SCRAM's 4,096 PBKDF2 rounds) on each side,
    and the suite's helpers would otherwise make one per topic, group and cleanup.
    Quiet: one kept for a scratch cluster that is gone would log its reconnects for ever
    (its calls still raise)."""
    return AdminClient(client_config(bootstrap, log_level=0))


def create_topic(
    bootstrap: str,
    topic: str,
    partitions: int = 1,
    replication: int = 1,
    config: dict[str, str] | None = None,
) -> None:
    admin = admin_client(bootstrap)
    futures = admin.create_topics([NewTopic(topic, partitions, replication, config=config or {})])
    futures[topic].result(timeout=30)
    wait_until_listed(admin, topic, partitions)


def wait_until_listed(admin: AdminClient, topic: str, partitions: int, timeout: float = 30) -> None:
    """Until a metadata request lists ``topic`` with its ``partitions``. CreateTopics answers
    once the controller has made the topic; the broker answering a client's metadata
    request learns of it a moment later, and a client asking at once is told there is
    no such topic (seen: roll markers written to none of a new topic's partitions)."""
    deadline = time.monotonic() + timeout
    while True:
        found = admin.list_topics(topic, timeout=10).topics.get(topic)
        if found is not None and found.error is None and len(found.partitions) == partitions:
            return
        if time.monotonic() > deadline:
            msg = f"topic {topic} not in the brokers' metadata within {timeout:.0f} s"
            raise AssertionError(msg)
        time.sleep(0.02)


def high_watermarks(bootstrap: str, topic: str, timeout: float = 30.0) -> dict[int, int]:
    """Each partition's next offset: where a message written from now on will be. A test
    reading a topic the whole session writes (the contract's) starts there, not at the
    beginning: one test spent 5.5 s of CPU reading a long-lived stack's 231k events."""
    consumer = Consumer(client_config(bootstrap, **{"group.id": "test-reader"}))
    try:
        partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
        return {
            partition: consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout)[1]
            for partition in partitions
        }
    finally:
        consumer.close()


def readers_topic_of(consumer_group: str) -> str:
    """A test consumer's own readers topic. Tests never write the shared one (issue 19):
    its reader records would outlive the test, and the gate would check every later
    candidate against them. Named after the group, so the cleanup of the test's names
    (the ``unique_name`` fixture, a system's generated group) removes it too."""
    return f"{consumer_group}.readers"


def made_readers_topic(bootstrap: str, consumer_group: str) -> str:
    """:func:`readers_topic_of` ``consumer_group``, created as `playball topics ensure`
    makes the shared one unless it exists (through the kept admin client: a new one costs
    a TLS and SCRAM handshake)."""
    topic = readers_topic_of(consumer_group)
    create_readers_topic(admin_client(bootstrap), topic, timeout=30)
    return topic


def remove_scratch_topics(bootstrap: str, prefix: str, timeout: float = 10.0) -> None:
    """Delete the topics and consumer groups whose names start with ``prefix``.

    Best effort: a test's cleanup must not fail it, and the broker finishes deletions in
    the background anyway.
    """
    admin = admin_client(bootstrap)
    try:
        topics = [t for t in admin.list_topics(timeout=timeout).topics if t.startswith(prefix)]
        if topics:
            for future in admin.delete_topics(topics, operation_timeout=timeout).values():
                future.result(timeout=timeout)
        _remove_acls_of(admin, prefix, timeout)
        listed = admin.list_consumer_groups(request_timeout=timeout).result(timeout=timeout)
        groups = [g.group_id for g in listed.valid if g.group_id.startswith(prefix)]
        if groups:
            for future in admin.delete_consumer_groups(groups, request_timeout=timeout).values():
                future.result(timeout=timeout)
    except (KafkaException, TimeoutError):
        pass  # a member still leaving, a broker restarting: left for the next stack reset


def _remove_acls_of(admin: AdminClient, prefix: str, timeout: float) -> None:
    """Delete the ACLs on topics and groups named ``prefix``…, granted by the test (or by
    a `topics ensure` / `schemas register` it ran)."""
    # None matches any name, principal and host (the stubs say str; the library takes None)
    everything = AclBindingFilter(
        ResourceType.ANY,
        None,  # type: ignore[arg-type]
        ResourcePatternType.ANY,
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    try:
        bindings = admin.describe_acls(everything, request_timeout=timeout).result(timeout=timeout)
    except KafkaException:
        return  # no authorizer, or the broker is away: nothing to clean
    ours = [b for b in bindings if b.name.startswith(prefix)]
    if ours:
        AclAdmin(admin, timeout).revoke(ours)


def start_group_at_end(bootstrap: str, group: str, topic: str, timeout: float = 30.0) -> None:
    """Commit ``group``'s offsets at ``topic``'s current end, before any member joins.

    A new group would otherwise start at the earliest offset (``auto.offset.reset``) and
    replay the topic's whole history, which on a long-lived development stack is every
    event any test or benchmark ever sent.
    """
    ends = high_watermarks(bootstrap, topic, timeout)
    offsets = [TopicPartition(topic, p, offset) for p, offset in ends.items()]
    set_group_offsets(bootstrap, group, offsets, timeout)


def set_group_offsets(
    bootstrap: str, group: str, offsets: list[TopicPartition], timeout: float = 30.0
) -> None:
    """Commit these offsets for ``group``, which must have no active member."""
    admin = admin_client(bootstrap)
    futures = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, offsets)])
    for future in futures.values():
        future.result(timeout=timeout)


def consume(
    bootstrap: str, topic: str, expected: int, timeout: float = 60.0
) -> list[tuple[bytes | None, bytes | None]]:
    """Read ``topic`` from the beginning until ``expected`` messages arrived or time is up."""
    consumer = Consumer(
        client_config(
            bootstrap,
            **{
                "group.id": f"test-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            },
        )
    )
    consumer.subscribe([topic])
    received: list[tuple[bytes | None, bytes | None]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(received) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            received.append((message.key(), message.value()))
    finally:
        consumer.close()
    return received
