"""The audit's Kafka side: every message of a topic with a user's key, decoded.

The topic is read whole, every partition from its first offset to its end at the time of
the scan, with an assigned (group-less) consumer: nothing is committed, no group moves.
Every partition, not only the one the key hashes to: a producer other than ours may
partition otherwise. A message with the key is a finding when its value, decoded with the
generated classes, holds a field tagged ``PII`` (a dead letter's value is the parked
message as it was produced, decoded the same way). A value that cannot be decoded is a
finding too, since it may hold some; a null value (a tombstone) or an empty one (a stub)
holds none.
"""

from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from playball_core.registry import RegistryUnreachableError
from playball_events.kafka_errors_kafka import await_metadata, secured_config
from playball_events.kafka_security import KafkaSecurity
from playball_events.privacy_scan import UNDECODABLE, Finding, Place, personal_fields_held

READ_TIMEOUT = 30.0  # seconds without a message before a read in progress gives up
# a broker that does not answer its first request in this long is away: the audit names
# the place unreachable soon instead of waiting out a read timeout per topic
METADATA_TIMEOUT = 10.0


class TopicUnreadableError(Exception):
    """The topic could not be read to its end (missing, not allowed, broker away)."""


def scan_topic(
    bootstrap: str,
    topic: str,
    key: bytes,
    decode: Callable[[bytes], object],
    *,
    security: KafkaSecurity | None = None,
    timeout: float = READ_TIMEOUT,
) -> Place:
    """The place ``kafka <topic>``: its messages keyed ``key`` that hold personal data.

    ``decode`` reads a Confluent wire-format value into a generated record. An unreachable
    registry or broker makes the place unreachable (its error), never a finding.
    """
    location = f"kafka {topic}"
    try:
        messages = _keyed(bootstrap, topic, key, security, timeout)
    except TopicUnreadableError as exc:
        return Place(location, error=str(exc))
    findings = []
    for partition, offset, value in messages:
        if not value:
            continue  # a tombstone (the erasure itself) or a stub: nothing in it
        try:
            fields = personal_fields_held(decode(value))
        except RegistryUnreachableError as exc:
            return Place(location, error=f"schema registry: {exc}")
        except Exception:  # not readable as one of ours: it may hold anything
            fields = (UNDECODABLE,)
        if fields:
            findings.append(Finding(f"partition {partition} offset {offset}", fields))
    return Place(location, tuple(findings))


def _keyed(
    bootstrap: str, topic: str, key: bytes, security: KafkaSecurity | None, timeout: float
) -> list[tuple[int, int, bytes | None]]:
    consumer = Consumer(
        secured_config(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "playball-privacy-audit",  # required by the client, never used
                "enable.auto.commit": False,
                "log_level": 0,  # the outcome is reported; librdkafka's retries are noise
            },
            security,
        )
    )
    try:
        return _read(consumer, topic, key, timeout)
    except KafkaException as exc:
        raise TopicUnreadableError(f"{topic}: {exc}") from exc
    finally:
        consumer.close()


def _read(consumer: Any, topic: str, key: bytes, timeout: float) -> list[tuple[int, int, Any]]:
    metadata = await_metadata(consumer, min(timeout, METADATA_TIMEOUT), topic=topic)
    found = metadata.topics.get(topic)
    if found is None or found.error is not None:
        problem = found.error.str() if found is not None and found.error else "not listed"
        msg = f"topic {topic} cannot be read: {problem}"
        raise TopicUnreadableError(msg)
    ends: dict[int, int] = {}
    assignment = []
    for partition in found.partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout)
        if high > low:
            ends[partition] = high
            assignment.append(TopicPartition(topic, partition, low))
    keyed: list[tuple[int, int, Any]] = []
    if not assignment:
        return keyed
    consumer.assign(assignment)
    while ends:
        message = consumer.poll(timeout)
        if message is None:
            msg = f"timed out reading {topic} (partitions {sorted(ends)} not read to their end)"
            raise TopicUnreadableError(msg)
        error = message.error()
        if error is not None:
            if error.fatal() or not error.retriable():
                raise KafkaException(error)
            continue
        partition, offset = message.partition() or 0, message.offset() or 0
        if message.key() == key:
            keyed.append((partition, offset, message.value()))
        if offset + 1 >= ends.get(partition, 0):
            ends.pop(partition, None)
    return keyed
