"""The readers topic on Kafka: publish a reader record, read them all, write tombstones,
create the topic.

Records are in the Confluent wire format under the registered subject
``_playball.readers-playball.runtime.v1.ReaderRecord`` whatever the topic's name (a
test's own readers topic included): the subject names the contract, not the topic.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer as KafkaConsumer
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from playball_core.registry import SchemaRegistry

from playball_events.kafka_errors_kafka import await_metadata, secured_config
from playball_events.kafka_security import KafkaSecurity
from playball_events.readers.ports import ReaderPublishError
from playball_events.runtime_records import ReaderRecord
from playball_events.serde import RecordDeserializer, RecordSerializer
from playball_events.serde_errors import SerdeError
from playball_events.service_principals import DEFAULT_READERS_TOPIC
from playball_events.topic_read_kafka import TopicReadError, messages_to_end

# a stop waits this long at most for its stopped_at record: the process is ending
PUBLISH_TIMEOUT = 5.0
CLOSE_TIMEOUT = 1.0
CLUSTER_REPLICATION = 3


class ReadersTopicError(Exception):
    """The readers topic could not be read (or written to, for tombstones)."""


class KafkaReaderSink:
    """Publishes reader records with a producer of its own (the consumer has none)."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        registry: SchemaRegistry,
        *,
        security: KafkaSecurity | None = None,
        timeout: float = PUBLISH_TIMEOUT,
        on_close: Callable[[], None] = lambda: None,
    ) -> None:
        self._topic = topic
        self._on_close = on_close
        self._timeout = timeout
        # the contract's subject, not the topic's: see the module docstring
        self._serializer = RecordSerializer(registry, DEFAULT_READERS_TOPIC)
        self._producer = Producer(
            secured_config(
                {
                    "bootstrap.servers": bootstrap,
                    "enable.idempotence": True,
                    "message.timeout.ms": int(timeout * 1000),
                },
                security,
            )
        )

    def publish(self, key: str, record: ReaderRecord) -> None:
        try:
            value = self._serializer.serialize(record)
        except SerdeError as exc:
            raise ReaderPublishError(str(exc)) from exc
        except Exception as exc:  # the registry unreachable: httpx's and ours
            raise ReaderPublishError(f"registry: {exc}") from exc
        outcome: list[KafkaError | None] = []
        try:
            self._producer.produce(
                self._topic,
                key=key.encode(),
                value=value,
                on_delivery=lambda error, _message: outcome.append(error),
            )
        except (BufferError, KafkaException) as exc:
            raise ReaderPublishError(str(exc)) from exc
        self._producer.flush(self._timeout)
        if not outcome:
            msg = f"no acknowledgement from {self._topic!r} within {self._timeout:.0f} s"
            raise ReaderPublishError(msg)
        if outcome[0] is not None:
            raise ReaderPublishError(f"{self._topic!r}: {outcome[0].str()}")

    def close(self) -> None:
        try:
            # every publish already waited for its acknowledgement: what is left is a
            # record that timed out, not worth delaying the process's exit for
            self._producer.flush(CLOSE_TIMEOUT)
        finally:
            self._on_close()


@dataclass(frozen=True, slots=True)
class StoredReader:
    key: str
    record: ReaderRecord


def read_readers(
    bootstrap: str,
    topic: str,
    registry: SchemaRegistry,
    *,
    security: KafkaSecurity | None = None,
    timeout: float = 10.0,
) -> list[StoredReader]:
    """The latest record of every key on the readers topic (tombstoned keys left out)."""
    decoder = RecordDeserializer(registry, [ReaderRecord])
    consumer = KafkaConsumer(
        secured_config(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "playball-readers-reader",  # required by the client, never committed
                "enable.auto.commit": False,
                # librdkafka would log the group coordinator's connection, which an assigned
                # reader never uses; the outcome is reported by the caller
                "log_level": 0,
                "enable.partition.eof": True,
            },
            security,
        )
    )
    latest: dict[str, ReaderRecord | None] = {}
    try:
        for message in messages_to_end(consumer, topic, timeout):
            key = (message.key() or b"").decode("utf-8", errors="replace")
            value = message.value()
            if key:
                latest[key] = None if value is None else _decoded(decoder, value, key)
    except (TopicReadError, KafkaException) as exc:
        raise ReadersTopicError(f"readers topic {topic!r}: {exc}") from exc
    finally:
        consumer.close()
    return [StoredReader(key, record) for key, record in sorted(latest.items()) if record]


def _decoded(decoder: RecordDeserializer[ReaderRecord], value: bytes, key: str) -> ReaderRecord:
    try:
        return decoder.deserialize(value)
    except SerdeError as exc:
        msg = f"reader record {key!r} cannot be decoded: {exc}"
        raise ReadersTopicError(msg) from exc


def write_tombstones(
    bootstrap: str,
    topic: str,
    keys: Sequence[str],
    *,
    security: KafkaSecurity | None = None,
    timeout: float = PUBLISH_TIMEOUT,
) -> None:
    """A tombstone per key: compaction then drops those readers' records."""
    producer = Producer(secured_config({"bootstrap.servers": bootstrap}, security))
    failures: list[str] = []

    def delivered(error: KafkaError | None, _message: Any) -> None:
        if error is not None:
            failures.append(error.str())

    try:
        for key in keys:
            producer.produce(topic, key=key.encode(), value=None, on_delivery=delivered)
    except (BufferError, KafkaException) as exc:
        raise ReadersTopicError(str(exc)) from exc
    left = producer.flush(timeout)
    if failures or left:
        msg = f"tombstones on {topic!r} not all written: {failures or f'{left} unacknowledged'}"
        raise ReadersTopicError(msg)


def ensure_readers_topic(
    bootstrap: str, topic: str, *, security: KafkaSecurity | None = None, timeout: float = 10.0
) -> bool:
    """Create the readers topic (compacted, 1 partition, no .dlq); False when it exists."""
    admin = AdminClient(secured_config({"bootstrap.servers": bootstrap, "log_level": 0}, security))
    return create_readers_topic(admin, topic, timeout=timeout)


def create_readers_topic(admin: AdminClient, topic: str, *, timeout: float = 10.0) -> bool:
    """:func:`ensure_readers_topic` through a client the caller already holds."""
    metadata = await_metadata(admin, timeout)
    if topic in metadata.topics:
        return False
    brokers = len(metadata.brokers)
    replication = CLUSTER_REPLICATION if brokers >= CLUSTER_REPLICATION else 1
    config = {"cleanup.policy": "compact"}
    if replication == CLUSTER_REPLICATION:
        config["min.insync.replicas"] = "2"
    futures = admin.create_topics(
        [NewTopic(topic, 1, replication, config=config)], request_timeout=timeout
    )
    try:
        futures[topic].result(timeout=timeout * 2)
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise ReadersTopicError(f"creating {topic!r} failed: {exc.args[0].str()}") from exc
        return False
    return True


def records_json(readers: Sequence[StoredReader]) -> list[dict[str, Any]]:
    """The reader set as JSON-able data: what ``playball readers snapshot`` writes."""
    return [reader_json(reader) for reader in readers]


def reader_json(reader: StoredReader) -> dict[str, Any]:
    record = reader.record
    return {
        "key": reader.key,
        "service": record.service,
        "version": record.version,
        "git_sha": record.git_sha,
        "consumer_group": record.consumer_group,
        "topic": record.topic,
        "instance_id": str(record.instance_id),
        "host": record.host,
        "started_at": record.started_at.isoformat(),
        "last_seen": record.last_seen.isoformat(),
        "stopped_at": record.stopped_at.isoformat() if record.stopped_at else None,
        "readers": [
            {
                "record_name": entry.record_name,
                "fingerprint": entry.fingerprint,
                "schema": json.loads(entry.schema),
            }
            for entry in record.readers
        ],
    }
