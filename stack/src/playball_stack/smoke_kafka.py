"""`playball stack smoke`: prove a running stack end to end in a few seconds.

One ``UserRegistered`` event takes the path every real event takes: the generated class,
our registry-aware serializer (Confluent wire format, schema id from the registry), the
broker keyed by user id, and back through the deserializer into the class. It uses a
topic of its own so that no consumer of the real user-events topic ever sees it.
"""

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from playball_core.registry import RegistryClient, RegistryUnreachableError
from playball_events.contracts import UserRegistered
from playball_events.serde import RecordDeserializer, RecordSerializer

from playball_stack.errors import DependencyDownError, StackError

SMOKE_TOPIC = "playball.smoke.user-events.v1"
# librdkafka's local codes for "no broker answered", as opposed to a broker refusing
_UNREACHABLE = {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._TIMED_OUT}


@dataclass(frozen=True, slots=True)
class SmokeResult:
    schema_id: int
    partition: int
    offset: int
    seconds: float


def _ensure_topic(bootstrap: str, topic: str, security: Mapping[str, str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, **security})
    future = admin.create_topics([NewTopic(topic, 1, 1)])[topic]
    try:
        future.result(timeout=30)
    except TimeoutError as exc:
        msg = f"the broker at {bootstrap} did not create topic {topic} within 30 s"
        raise DependencyDownError(msg) from exc
    except KafkaException as exc:
        error: KafkaError = exc.args[0]
        if error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return
        if error.code() in _UNREACHABLE:
            msg = f"the broker at {bootstrap} did not answer: {error.str()}"
            raise DependencyDownError(msg) from exc
        msg = f"cannot create topic {topic} on {bootstrap}: {error.str()}"
        raise StackError(msg) from exc


def _read_back(
    bootstrap: str, key: bytes, timeout: float, security: Mapping[str, str]
) -> tuple[bytes, int, int]:
    consumer = Consumer(
        {
            **security,
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
            if message is None or message.error() or message.key() != key:
                continue
            return message.value() or b"", message.partition() or 0, message.offset() or 0
    finally:
        consumer.close()
    msg = f"the smoke event did not come back from {SMOKE_TOPIC} within {timeout:.0f} s"
    raise StackError(msg)


def run_smoke(
    bootstrap: str,
    registry_url: str,
    timeout: float = 60.0,
    *,
    security: Mapping[str, str] | None = None,
) -> SmokeResult:
    """``security``: librdkafka settings of the principal to connect as (the stack's
    admin, on its own secured Kafka)."""
    started = time.monotonic()
    security = security or {}
    event = UserRegistered(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        user_id=uuid.uuid4(),
        user_version=1,
        username="smoke",
        display_name="Smoke Test",
    )
    registry = RegistryClient(registry_url)
    try:
        # the smoke topic's subject is registered here; real subjects only ever are by
        # `playball schemas register`
        serializer = RecordSerializer(registry, SMOKE_TOPIC, auto_register=True)
        try:
            payload = serializer.serialize(event)
        except RegistryUnreachableError as exc:
            raise DependencyDownError(str(exc)) from exc
        _ensure_topic(bootstrap, SMOKE_TOPIC, security)
        producer = Producer(
            {**security, "bootstrap.servers": bootstrap, "enable.idempotence": True}
        )
        key = str(event.user_id).encode()
        producer.produce(SMOKE_TOPIC, key=key, value=payload)
        if producer.flush(timeout) != 0:
            msg = f"the broker at {bootstrap} did not acknowledge the smoke event"
            raise DependencyDownError(msg)
        value, partition, offset = _read_back(bootstrap, key, timeout, security)
        decoded = RecordDeserializer(registry, [UserRegistered]).deserialize(value)
    finally:
        registry.close()
    if decoded != event:
        msg = f"the event came back different: sent {event}, got {decoded}"
        raise StackError(msg)
    schema_id = serializer.schema_id(UserRegistered)
    return SmokeResult(schema_id, partition, offset, time.monotonic() - started)
