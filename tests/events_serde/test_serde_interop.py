"""Interoperability with confluent-kafka's AvroSerializer/AvroDeserializer on a real registry."""

import io
import json
from collections.abc import Iterator
from typing import Any

import fastavro
import pytest
from confluent_kafka.schema_registry import (
    SchemaRegistryClient,
    topic_record_subject_name_strategy,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from playball_core.registry import RegistryClient
from playball_events.contracts import UserDeleted, UserRegistered, UserUpdated
from playball_events.serde import RecordDeserializer, RecordSerializer, header
from playball_events.serde_errors import SchemaNotRegisteredError
from support.events import registered
from support.paths import SCHEMA_DIR

pytestmark = pytest.mark.stack


@pytest.fixture
def registry(registry_url: str) -> Iterator[RegistryClient]:
    registry = RegistryClient(registry_url)
    yield registry
    registry.close()


@pytest.fixture
def client(registry_url: str) -> Iterator[SchemaRegistryClient]:
    with SchemaRegistryClient({"url": registry_url}) as client:
        yield client


@pytest.fixture
def topic(registry: RegistryClient, unique_name: str) -> str:
    """A fresh topic whose subjects hold the current schemas (the schema workflow's job)."""
    serializer = RecordSerializer(registry, unique_name)
    for cls in (UserRegistered, UserDeleted):
        registry.register(serializer.subject(cls), json.dumps(cls.avro_schema()))
    return unique_name


def _confluent_serializer(client: SchemaRegistryClient, cls: Any) -> AvroSerializer:
    serializer: AvroSerializer = AvroSerializer(
        client,
        json.dumps(cls.avro_schema()),
        lambda record, _ctx: record.to_avro(),
        conf={
            "auto.register.schemas": False,
            "subject.name.strategy": topic_record_subject_name_strategy,
        },
    )
    return serializer


def _confluent_deserializer(client: SchemaRegistryClient, cls: Any) -> AvroDeserializer:
    deserializer: AvroDeserializer = AvroDeserializer(
        client,
        from_dict=lambda data, _ctx: cls.from_avro(data),
        conf={"subject.name.strategy": topic_record_subject_name_strategy},
    )
    return deserializer


def test_ours_to_confluent_and_back(
    registry: RegistryClient, topic: str, client: SchemaRegistryClient
) -> None:
    context = SerializationContext(topic, MessageField.VALUE)
    event = registered()

    ours = RecordSerializer(registry, topic).serialize(event)
    theirs = _confluent_serializer(client, UserRegistered)(event, context)

    assert ours == theirs  # same id, same body
    assert _confluent_deserializer(client, UserRegistered)(ours, context) == event
    assert RecordDeserializer(registry, [UserRegistered, UserDeleted]).deserialize(theirs) == event


def test_schema_id_matches_the_registered_subject(
    registry: RegistryClient, topic: str, client: SchemaRegistryClient
) -> None:
    subject = f"{topic}-playball.auth.v1.UserDeleted"
    expected = client.get_latest_version(subject).schema_id
    assert RecordSerializer(registry, topic).schema_id(UserDeleted) == expected


def test_unregistered_subject_is_not_auto_registered(
    registry: RegistryClient, unique_name: str
) -> None:
    with pytest.raises(SchemaNotRegisteredError, match=unique_name):
        RecordSerializer(registry, unique_name).serialize(registered())
    assert registry.lookup(f"{unique_name}-playball.auth.v1.UserRegistered", "{}") is None


@pytest.mark.parametrize("cls", [UserRegistered, UserUpdated, UserDeleted])
def test_avro_schema_registers_as_the_schema_file_no_new_version(
    registry: RegistryClient, client: SchemaRegistryClient, unique_name: str, cls: Any
) -> None:
    # The schema workflow registers the file's text; services look up avro_schema().
    name = cls.avro_schema()["name"]
    file_text = (SCHEMA_DIR / f"{name}.avsc").read_text(encoding="utf-8")
    assert cls.avro_schema() == json.loads(file_text)
    serializer = RecordSerializer(registry, unique_name)
    subject = serializer.subject(cls)
    first = registry.register(subject, file_text)

    assert serializer.schema_id(cls) == first
    assert registry.register(subject, json.dumps(cls.avro_schema())) == first
    assert client.get_versions(subject) == [1]


def test_a_writer_with_an_invalid_decimal_decodes_as_java_reads_it(
    registry: RegistryClient, unique_name: str
) -> None:
    # A Java producer may register a decimal whose scale exceeds its precision: Java (and
    # the registry) ignore the logical type and use bytes. fastavro refuses such a schema,
    # so the consumer removes what Java ignores before parsing it.
    invalid = {"type": "bytes", "logicalType": "decimal", "precision": 2, "scale": 3}
    writer = UserRegistered.avro_schema()
    writer["fields"].append({"name": "balance", "type": invalid, "default": ""})
    subject = RecordSerializer(registry, unique_name).subject(UserRegistered)
    schema_id = registry.register(subject, json.dumps(writer))
    event = registered()
    as_java_reads_it = {
        **writer,
        "fields": [*writer["fields"][:-1], {"name": "balance", "type": "bytes"}],
    }
    body = io.BytesIO()
    fastavro.schemaless_writer(
        body, fastavro.parse_schema(as_java_reads_it), {**event.to_avro(), "balance": b"\x07"}
    )

    message = header(schema_id) + body.getvalue()

    assert RecordDeserializer(registry, [UserRegistered]).deserialize(message) == event
