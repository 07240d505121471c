"""Roll markers and dead-letter tombstones on the real broker: one marker per partition,
where it belongs; a tombstone of the user's key beside its letter; and the dead-letter
tools, which list neither."""

import uuid

import pytest
from confluent_kafka import Producer
from playball_core.manifest import dead_letter_topic
from playball_events.consumer.dead_letters_kafka import KafkaDeadLetters
from playball_events.consumer.dlq_kafka import read_parked
from playball_events.consumer.ports import DeadLetter, RawMessage
from playball_events.kafka_security import kafka_security_from_environment
from playball_events.roll_markers import roll_marker_key
from playball_events.roll_markers_kafka import KafkaRollMarkers
from support.kafka import client_config, consume, create_topic

pytestmark = pytest.mark.stack


def test_each_partition_gets_one_marker_of_its_own(kafka_bootstrap: str, unique_name: str) -> None:
    create_topic(kafka_bootstrap, unique_name, partitions=3)
    producer = Producer(client_config(kafka_bootstrap, **{"enable.idempotence": True}))
    missing = f"{unique_name}-never-created"
    markers = KafkaRollMarkers(lambda: producer, [unique_name, missing])
    assert markers.write() == 3  # a topic the cluster lacks is skipped, not an error
    received = consume(kafka_bootstrap, unique_name, expected=3, timeout=30)
    assert sorted(received) == [(roll_marker_key(p), None) for p in range(3)]


def test_an_erasure_tombstones_the_key_and_the_tools_list_only_letters(
    kafka_bootstrap: str, unique_name: str
) -> None:
    dlq = dead_letter_topic(unique_name)
    create_topic(kafka_bootstrap, dlq, partitions=2)
    security = kafka_security_from_environment()
    key = str(uuid.uuid4()).encode()
    original = RawMessage(unique_name, 0, 7, key, b"\x00\x00\x00\x00\x01body")
    letters = KafkaDeadLetters(kafka_bootstrap, security=security)
    letters.park([DeadLetter(message=original, reason="bad", kind="invalid")])
    assert letters.roll_markers([unique_name]).write() == 2
    letters.erase([original])

    received = consume(kafka_bootstrap, dlq, expected=4, timeout=30)
    assert (key, None) in received  # the tombstone: compaction removes the letter with it
    assert sum(1 for k, _ in received if k == key) == 2
    [listed] = read_parked(kafka_bootstrap, dlq, security=security)
    assert (listed.key, listed.source_offset, listed.reason) == (key, 7, "bad")
