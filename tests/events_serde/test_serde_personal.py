"""Serde errors on records with fields tagged PII name fields and sizes, never their values."""

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from playball_events.contracts import UserUpdated
from playball_events.serde import RecordDeserializer, RecordSerializer, header
from playball_events.serde_errors import InvalidRecordError, MalformedBodyError

from events_serde.registries import CountingRegistry

TOPIC = "playball.auth.user-events.v1"
SECRET = "Wv4 personal display name"


def updated(**changes: Any) -> UserUpdated:
    values: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "occurred_at": dt.datetime.now(dt.UTC),
        "user_id": uuid.uuid4(),
        "user_version": 2,
        "username": "Wv4-login-name",
        "display_name": SECRET,
        **changes,
    }
    return UserUpdated(**values)


@pytest.fixture
def serde() -> tuple[RecordSerializer, RecordDeserializer[UserUpdated], int]:
    registry = CountingRegistry()
    serializer = RecordSerializer(registry, TOPIC)
    schema_id = registry.register(
        serializer.subject(UserUpdated), json.dumps(UserUpdated.avro_schema())
    )
    return serializer, RecordDeserializer(registry, [UserUpdated], topic=TOPIC), schema_id


@pytest.mark.parametrize(
    ("body", "error"),
    [
        # the display name is the last field: cut inside it, or end it in invalid UTF-8
        (lambda data: data[:-4], "EOFError: Expected"),
        (lambda data: data[:-1] + b"\xff", "UnicodeDecodeError: 'utf-8' codec can't decode"),
    ],
    ids=["truncated", "invalid-utf8"],
)
def test_a_body_that_does_not_decode_is_refused_without_its_values(
    serde: tuple[RecordSerializer, RecordDeserializer[UserUpdated], int], body: Any, error: str
) -> None:
    serializer, deserializer, schema_id = serde
    encoded = serializer.serialize(updated())[5:]
    assert SECRET.encode() in encoded  # Avro keeps a string's bytes as they are
    with pytest.raises(MalformedBodyError) as caught:
        deserializer.deserialize(header(schema_id) + body(encoded))
    message = str(caught.value)
    assert f"(schema id {schema_id}): {error}" in message
    assert SECRET not in message
    assert SECRET[:8] not in message


@pytest.mark.parametrize("bad", [12345678, 3.5, ["a list", SECRET], {"a": SECRET}])
def test_a_record_that_cannot_be_encoded_names_the_field_not_the_value(
    serde: tuple[RecordSerializer, RecordDeserializer[UserUpdated], int], bad: object
) -> None:
    serializer, _, _ = serde
    with pytest.raises(InvalidRecordError) as caught:
        serializer.serialize(updated(display_name=bad))
    message = str(caught.value)
    assert "UserUpdated cannot be encoded with its schema" in message
    for shown in (SECRET, "12345678", "3.5", "a list"):
        assert shown not in message
