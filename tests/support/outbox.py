"""Outbox rows for tests and benchmarks: real contract payloads, as the auth writer makes them."""

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

from playball_core.manifest import topic_record_subject
from playball_events.contracts import UserDeleted, UserRegistered, UserUpdated
from playball_events.outbox.model import NewOutboxEvent, schema_fingerprint

RECORDS: tuple[type[Any], ...] = (UserRegistered, UserUpdated, UserDeleted)


def full_name(cls: type[Any]) -> str:
    schema = cls.avro_schema()
    return f"{schema['namespace']}.{schema['name']}"


def subjects(topic: str) -> dict[str, type[Any]]:
    """The subjects a test topic needs (TopicRecordNameStrategy) and their classes."""
    return {topic_record_subject(topic, full_name(cls)): cls for cls in RECORDS}


def user_event(
    topic: str, user_id: uuid.UUID, version: int, *, last: bool = False, traceparent: str = ""
) -> NewOutboxEvent:
    """Version 1 registers the user, later ones update it, ``last`` deletes it."""
    event_id = uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    record: Any
    common: dict[str, Any] = {
        "event_id": event_id,
        "occurred_at": now,
        "user_id": user_id,
        "user_version": version,
    }
    if version == 1:
        record = UserRegistered(**common, username=f"u{user_id.hex[:8]}", display_name="New")
    elif last:
        record = UserDeleted(**common)
    else:
        record = UserUpdated(**common, username=f"u{user_id.hex[:8]}", display_name=f"v{version}")
    cls = type(record)
    return NewOutboxEvent(
        event_id=event_id,
        aggregate_id=str(user_id),
        aggregate_version=version,
        record_type=full_name(cls),
        topic=topic,
        subject=topic_record_subject(topic, full_name(cls)),
        payload=record.to_avro_bytes(),
        schema_fingerprint=schema_fingerprint(cls.avro_schema()),
        created_at=now,
        headers={"traceparent": traceparent} if traceparent else {},
    )


def user_histories(
    topic: str, users: int, versions: int, *, delete_last: bool = False
) -> Iterator[list[NewOutboxEvent]]:
    """``versions`` events for each of ``users`` users, one list per user."""
    for _ in range(users):
        user_id = uuid.uuid4()
        yield [
            user_event(topic, user_id, v, last=delete_last and v == versions and v > 1)
            for v in range(1, versions + 1)
        ]
