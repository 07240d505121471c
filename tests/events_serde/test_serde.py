"""The wire-format serde against an in-memory registry: caching, routing, resolution, errors."""

import io
import json
from typing import Any

import fastavro
import pytest
from playball_core.manifest import load_manifest
from playball_core.registry import UnknownSchemaIdError
from playball_events.contracts import UserDeleted, UserRegistered, UserUpdated
from playball_events.serde import RecordDeserializer, RecordSerializer
from playball_events.serde_errors import (
    IncompatibleWriterSchemaError,
    InvalidRecordError,
    MalformedBodyError,
    SchemaNotRegisteredError,
    SerdeError,
    TruncatedMessageError,
    UnexpectedRecordTypeError,
    UnknownMagicByteError,
)
from support.events import deleted, registered
from support.paths import SCHEMA_DIR

from events_serde.registries import CountingRegistry

TOPIC = "playball.auth.user-events.v1"
EVENTS = (UserRegistered, UserUpdated, UserDeleted)


@pytest.fixture
def registry() -> CountingRegistry:
    registry = CountingRegistry()
    serializer = RecordSerializer(registry, TOPIC)
    for cls in EVENTS:
        registry.register(serializer.subject(cls), json.dumps(cls.avro_schema()))
    registry.calls.clear()
    return registry


def test_subjects_are_the_manifests() -> None:
    serializer = RecordSerializer(CountingRegistry(), TOPIC)
    manifest = load_manifest(SCHEMA_DIR)
    assert sorted(serializer.subject(cls) for cls in EVENTS) == sorted(
        entry.subject for entry in manifest.schemas
    )


def test_wire_format_is_magic_byte_schema_id_and_body(registry: CountingRegistry) -> None:
    serializer = RecordSerializer(registry, TOPIC)
    event = registered()
    data = serializer.serialize(event)
    schema_id = serializer.schema_id(UserRegistered)
    assert data[0] == 0
    assert int.from_bytes(data[1:5], "big") == schema_id
    assert data[5:] == event.to_avro_bytes()


def test_one_topic_several_types_round_trip_and_lookups_are_cached(
    registry: CountingRegistry,
) -> None:
    serializer = RecordSerializer(registry, TOPIC)
    deserializer = RecordDeserializer(registry, EVENTS)
    events: list[UserRegistered | UserDeleted] = [registered(), deleted(), registered(2), deleted()]

    decoded = [deserializer.deserialize(serializer.serialize(e)) for e in events * 5]

    assert decoded == events * 5
    assert [type(e) for e in decoded[:4]] == [UserRegistered, UserDeleted] * 2
    assert registry.calls == {"lookup": 2, "schema_by_id": 2}


def test_auto_registration_is_off_by_default() -> None:
    registry = CountingRegistry()
    with pytest.raises(SchemaNotRegisteredError, match="auto-register is off"):
        RecordSerializer(registry, TOPIC).serialize(registered())
    assert registry.calls["register"] == 0
    data = RecordSerializer(registry, TOPIC, auto_register=True).serialize(registered())
    assert registry.calls["register"] == 1
    assert isinstance(RecordDeserializer(registry, EVENTS).deserialize(data), UserRegistered)


def test_older_writer_version_is_resolved_into_the_reader_class(
    registry: CountingRegistry,
) -> None:
    # v0 of UserRegistered lacked display_name; the reader's default is not there, so we
    # give the reader class a writer that has *extra* data instead: a v2 with a new field.
    v2: dict[str, Any] = UserRegistered.avro_schema()
    v2["fields"].append({"name": "locale", "type": "string", "default": "en"})
    schema_id = registry.register(f"{TOPIC}-playball.auth.v1.UserRegistered", json.dumps(v2))
    event = registered()
    body = event.to_avro_bytes() + b"\x04fr"  # the v2 body: v1 fields then locale="fr"
    data = bytes([0]) + schema_id.to_bytes(4, "big") + body

    assert RecordDeserializer(registry, EVENTS).deserialize(data) == event


def _message(schema_id: int, body: bytes) -> bytes:
    return bytes([0]) + schema_id.to_bytes(4, "big") + body


@pytest.mark.parametrize(
    ("data", "error", "reason"),
    [
        (b"", TruncatedMessageError, "0 bytes is shorter than the 5-byte header"),
        (b"\x00\x00\x01", TruncatedMessageError, "3 bytes"),
        (b"\x01\x00\x00\x00\x01abc", UnknownMagicByteError, "unknown magic byte 1"),
        (_message(999, b""), UnknownSchemaIdError, "schema id 999"),
    ],
)
def test_bad_messages_raise_specific_errors(
    registry: CountingRegistry, data: bytes, error: type[SerdeError], reason: str
) -> None:
    with pytest.raises(error, match=reason):
        RecordDeserializer(registry, EVENTS).deserialize(data)


def test_truncated_body_is_a_malformed_body_error(registry: CountingRegistry) -> None:
    data = RecordSerializer(registry, TOPIC).serialize(registered())
    with pytest.raises(MalformedBodyError, match="body of 20 bytes"):
        RecordDeserializer(registry, EVENTS).deserialize(data[:25])


def test_record_type_not_read_here_is_refused(registry: CountingRegistry) -> None:
    data = RecordSerializer(registry, TOPIC).serialize(deleted())
    only_registered = RecordDeserializer(registry, [UserRegistered])
    registry.calls.clear()
    for _ in range(3):
        with pytest.raises(
            UnexpectedRecordTypeError, match=r"writes 'playball\.auth\.v1\.UserDeleted'"
        ):
            only_registered.deserialize(data)
    assert registry.calls == {"schema_by_id": 1}  # the writer schema is fetched once


def test_incompatible_writer_schema_is_refused(registry: CountingRegistry) -> None:
    writer = UserRegistered.avro_schema()
    writer["fields"] = [f for f in writer["fields"] if f["name"] != "username"]
    schema_id = registry.register("other", json.dumps(writer))
    datum = {k: v for k, v in registered().to_avro().items() if k != "username"}
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(writer), datum)
    body = buffer.getvalue()
    with pytest.raises(IncompatibleWriterSchemaError, match="username"):
        RecordDeserializer(registry, EVENTS).deserialize(_message(schema_id, body))


def test_a_value_the_schema_cannot_encode_is_an_invalid_record_error(
    registry: CountingRegistry,
) -> None:
    too_big = registered(user_version=2**70)  # Avro long is 64 bits
    with pytest.raises(InvalidRecordError, match=r"UserRegistered cannot be encoded"):
        RecordSerializer(registry, TOPIC).serialize(too_big)
