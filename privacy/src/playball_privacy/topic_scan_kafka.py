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

from confluent_kafka import Consumer, KafkaError, KafkaException
from playball_core.registry import RegistryUnreachableError
from playball_events.kafka_errors_kafka import secured_config
from playball_events.kafka_security import KafkaSecurity
from playball_events.privacy_scan import UNDECODABLE, Finding, Place, personal_fields_held
from playball_events.topic_read_kafka import TopicReadError, messages_to_end

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
        return [
            (message.partition() or 0, message.offset() or 0, message.value())
            for message in messages_to_end(
                consumer,
                topic,
                timeout,
                metadata_timeout=min(timeout, METADATA_TIMEOUT),
                tolerate=_passing,
            )
            if message.key() == key
        ]
    except (TopicReadError, KafkaException) as exc:
        raise TopicUnreadableError(f"{topic}: {exc}") from exc
    finally:
        consumer.close()


def _passing(error: KafkaError) -> bool:
    """A retriable, non-fatal error the client recovers from by itself."""
    return bool(error.retriable() and not error.fatal())
