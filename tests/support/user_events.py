"""Producing contract events for consumer tests: unique topics, registered subjects."""

import datetime as dt
import json
import uuid
from collections.abc import Iterable

from confluent_kafka import Producer
from playball_core.manifest import dead_letter_topic
from playball_core.registry import RegistryClient
from playball_events.contracts import UserDeleted, UserRegistered, UserUpdated
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_events.serde import RecordSerializer

from support.kafka import client_config, create_topic

UserEvent = UserRegistered | UserUpdated | UserDeleted


def create_event_topics(
    bootstrap: str, registry: RegistryClient, topic: str, partitions: int = 6
) -> None:
    """``topic`` (6 partitions), its dead-letter topic, and the contracts under its subjects."""
    create_topic(bootstrap, topic, partitions=partitions)
    create_topic(bootstrap, dead_letter_topic(topic), partitions=1)
    serializer = RecordSerializer(registry, topic)
    for cls in PLAYBALL_AUTH_USER_EVENTS_V1.records:
        registry.register(serializer.subject(cls), json.dumps(cls.avro_schema()))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def registered(user_id: uuid.UUID, version: int = 1, name: str = "Ada") -> UserRegistered:
    return UserRegistered(
        event_id=uuid.uuid4(),
        occurred_at=now(),
        user_id=user_id,
        user_version=version,
        username=f"u{user_id.hex[:12]}",
        display_name=name,
    )


def updated(user_id: uuid.UUID, version: int, name: str) -> UserUpdated:
    return UserUpdated(
        event_id=uuid.uuid4(),
        occurred_at=now(),
        user_id=user_id,
        user_version=version,
        username=f"u{user_id.hex[:12]}",
        display_name=name,
    )


def deleted(user_id: uuid.UUID, version: int) -> UserDeleted:
    return UserDeleted(
        event_id=uuid.uuid4(), occurred_at=now(), user_id=user_id, user_version=version
    )


def headers_of(event: UserEvent) -> list[tuple[str, str | bytes | None]]:
    full_name = PLAYBALL_AUTH_USER_EVENTS_V1.subject_of(type(event)).record_full_name
    return [
        ("event_id", str(event.event_id).encode()),
        ("event_type", full_name.encode()),
        ("user_version", str(event.user_version).encode()),
    ]


class EventProducer:
    """Writes events as the relay does: key = user id, value in wire format, headers."""

    def __init__(self, bootstrap: str, registry: RegistryClient, topic: str) -> None:
        self.topic = topic
        self._serializer = RecordSerializer(registry, topic)
        self._producer = Producer(
            client_config(bootstrap, **{"enable.idempotence": True, "linger.ms": 5})
        )

    def send(self, events: Iterable[UserEvent]) -> None:
        for event in events:
            self._producer.produce(
                self.topic,
                key=str(event.user_id).encode(),
                value=self._serializer.serialize(event),
                headers=headers_of(event),
            )
            self._producer.poll(0)
        self.flush()

    def send_raw(
        self, key: bytes | None, value: bytes | None, headers: list[tuple[str, str | bytes | None]]
    ) -> None:
        self._producer.produce(self.topic, key=key, value=value, headers=headers)
        self.flush()

    def flush(self) -> None:
        assert self._producer.flush(30) == 0, "messages left unacknowledged"
