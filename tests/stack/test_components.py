"""The stack's components against the real running Kafka, registry and PostgreSQL."""

import json

import httpx
import psycopg
import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from support.kafka import client_config, consume, create_topic

pytestmark = pytest.mark.stack


def test_keyed_message_round_trips_through_the_broker(
    kafka_bootstrap: str, unique_name: str
) -> None:
    create_topic(kafka_bootstrap, unique_name, partitions=3)
    producer = Producer(client_config(kafka_bootstrap, **{"enable.idempotence": True}))
    for i in range(10):
        producer.produce(unique_name, key=b"user-42", value=f"v{i}".encode())
    assert producer.flush(30) == 0

    received = consume(kafka_bootstrap, unique_name, expected=10)

    assert received == [(b"user-42", f"v{i}".encode()) for i in range(10)]


RECORD_V1 = {
    "type": "record",
    "name": "Probe",
    "namespace": "playball.test",
    "fields": [{"name": "id", "type": "string"}],
}


def test_schema_registers_reads_back_by_id_and_incompatible_change_is_refused(
    registry_url: str, unique_name: str
) -> None:
    with SchemaRegistryClient({"url": registry_url}) as client:
        check_registration(client, registry_url, unique_name)


def check_registration(client: SchemaRegistryClient, registry_url: str, unique_name: str) -> None:
    subject = f"{unique_name}-value"
    schema_id = client.register_schema(subject, Schema(json.dumps(RECORD_V1), "AVRO"))

    fetched = client.get_schema(schema_id)
    assert json.loads(fetched.schema_str or "") == RECORD_V1

    # a new required field without default: old data cannot be read -> not BACKWARD
    v2 = {**RECORD_V1, "fields": [*RECORD_V1["fields"], {"name": "n", "type": "int"}]}
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema(subject, Schema(json.dumps(v2), "AVRO"))
    assert refused.value.http_status_code == 409

    # the same refusal straight from the REST API, as any non-Python client sees it
    response = httpx.post(
        f"{registry_url}/subjects/{subject}/versions",
        json={"schema": json.dumps(v2), "schemaType": "AVRO"},
    )
    assert response.status_code == 409


def test_postgres_answers_a_query(database_url: str) -> None:
    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, connect_timeout=5) as conn:
        row = conn.execute("SELECT current_database(), 6 * 7").fetchone()
    assert row is not None
    assert row[1] == 42
