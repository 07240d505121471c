"""`playball stack smoke`: prove a running stack end to end in a few seconds.

It registers UserRegistered under its manifest subject, produces one Avro event keyed
by user id through the broker, consumes it back and decodes it through the registry —
the same path every real event takes.
"""

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from playball_events.manifest import default_schema_dir, load_manifest

from playball_stack.errors import StackError

SMOKE_TOPIC = "playball.smoke.v1"


@dataclass(frozen=True, slots=True)
class SmokeResult:
    schema_id: int
    partition: int
    offset: int
    seconds: float


def _ensure_topic(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    future = admin.create_topics([NewTopic(topic, 1, 1)])[topic]
    try:
        future.result(timeout=30)
    except Exception as exc:
        if (
            exc.args
            and getattr(exc.args[0], "code", lambda: None)() == KafkaError.TOPIC_ALREADY_EXISTS
        ):
            return
        raise


def run_smoke(bootstrap: str, registry_url: str, timeout: float = 60.0) -> SmokeResult:
    started = time.monotonic()
    entry = next(
        e for e in load_manifest(default_schema_dir()).schemas if "UserRegistered" in e.subject
    )
    schema_text = entry.file.read_text(encoding="utf-8")
    subject = f"{SMOKE_TOPIC}-{entry.record_full_name}"
    with SchemaRegistryClient({"url": registry_url}) as registry:
        schema_id = registry.register_schema(subject, Schema(schema_text, "AVRO"))
        serializer = AvroSerializer(
            registry,
            schema_text,
            conf={
                "auto.register.schemas": False,
                "use.latest.version": False,
                "subject.name.strategy": lambda _ctx, _name: subject,
            },
        )
        deserializer = AvroDeserializer(registry)
        _ensure_topic(bootstrap, SMOKE_TOPIC)
        user_id = uuid.uuid4()
        event = {
            "event_id": str(uuid.uuid4()),
            "occurred_at": datetime.now(UTC),
            "user_id": str(user_id),
            "user_version": 1,
            "username": "smoke",
            "display_name": "Smoke Test",
        }
        context = SerializationContext(SMOKE_TOPIC, MessageField.VALUE)
        payload = serializer(event, context)
        if payload is None or payload[0] != 0 or int.from_bytes(payload[1:5], "big") != schema_id:
            msg = "serialized payload does not carry the registered schema id"
            raise StackError(msg)
        producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
        producer.produce(SMOKE_TOPIC, key=str(user_id).encode(), value=payload)
        if producer.flush(timeout) != 0:
            msg = f"the broker at {bootstrap} did not acknowledge the smoke event"
            raise StackError(msg)
        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"smoke-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        consumer.subscribe([SMOKE_TOPIC])
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                message = consumer.poll(0.5)
                if message is None or message.error() or message.key() != str(user_id).encode():
                    continue
                decoded = deserializer(message.value(), context)
                if decoded is None or str(decoded["event_id"]) != event["event_id"]:
                    msg = f"decoded event differs: {json.dumps(decoded, default=str)}"
                    raise StackError(msg)
                return SmokeResult(
                    schema_id,
                    message.partition() or 0,
                    message.offset() or 0,
                    time.monotonic() - started,
                )
        finally:
            consumer.close()
    msg = f"the smoke event did not come back from {SMOKE_TOPIC} within {timeout:.0f} s"
    raise StackError(msg)
