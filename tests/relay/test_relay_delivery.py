"""Every committed row reaches its topic with the right key, headers and versions, and
decodes through the registry with confluent-kafka's AvroDeserializer as well as ours."""

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import typer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from playball_auth.entrypoints.relay_cli import register
from playball_core.registry import RegistryClient
from playball_events.contracts import UserDeleted, UserRegistered, UserUpdated
from playball_events.outbox.store_sql import SqlOutboxStore
from playball_events.serde import RecordDeserializer
from support.outbox import insert_events, user_event, user_histories
from typer.testing import CliRunner

from relay.conftest import (
    RelayProcesses,
    drained,
    ensure_topic,
    first_occurrence_versions,
    read_topic,
    register_subjects,
    wait_for,
)

pytestmark = pytest.mark.stack


def auth_cli() -> typer.Typer:
    app = typer.Typer()
    outbox = typer.Typer()
    app.add_typer(outbox, name="outbox")
    register(app, outbox)
    return app


def test_every_committed_row_reaches_the_topic_keyed_and_headed_and_decodes_both_ways(
    *,
    store: SqlOutboxStore,
    outbox_url: str,
    topic: str,
    relays: RelayProcesses,
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    histories = list(user_histories(topic, users=5, versions=3, delete_last=True))
    traced = user_event(
        topic, uuid.uuid4(), 1, traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    )
    rows = [event for history in histories for event in history] + [traced]
    for history in histories:
        for event in history:  # one transaction per change, as the API commits them
            insert_events(store, [event])
    insert_events(store, [traced])

    relays.start(
        outbox_url,
        PLAYBALL_KAFKA_BOOTSTRAP=kafka_bootstrap,
        PLAYBALL_SCHEMA_REGISTRY_URL=registry_url,
    )
    received = read_topic(kafka_bootstrap, topic, {e.event_id for e in rows})
    wait_for(drained(store), 30, "the outbox to drain")

    by_id = {r.event_id: r for r in received}
    assert set(by_id) == {e.event_id for e in rows}
    with (
        RegistryClient(registry_url) as registry,
        SchemaRegistryClient({"url": registry_url, "timeout": 30}) as client,
    ):
        ours: RecordDeserializer[Any] = RecordDeserializer(
            registry, [UserRegistered, UserUpdated, UserDeleted]
        )
        theirs = AvroDeserializer(client)
        for event in rows:
            message = by_id[event.event_id]
            assert message.key == event.aggregate_id.encode()
            assert str(uuid.UUID(message.key.decode())) == message.key.decode()  # canonical
            assert message.headers["event_id"] == str(event.event_id).encode()
            assert message.headers["event_type"] == event.record_type.encode()
            assert message.headers["user_version"] == str(event.aggregate_version).encode()
            assert message.headers.get("traceparent", b"").decode() == event.headers.get(
                "traceparent", ""
            )
            assert message.value[0] == 0 and message.value[5:] == event.payload
            record: Any = ours.deserialize(message.value)
            assert type(record).__name__ == event.record_type.rsplit(".", 1)[1]
            assert record.event_id == event.event_id
            assert record.user_version == event.aggregate_version
            decoded = theirs(message.value, SerializationContext(topic, MessageField.VALUE))
            assert str(decoded["event_id"]) == str(event.event_id)
            assert str(decoded["user_id"]) == event.aggregate_id
            assert decoded["user_version"] == event.aggregate_version

    for versions in first_occurrence_versions(received).values():
        assert versions == sorted(set(versions))

    result = CliRunner().invoke(
        auth_cli(), ["outbox", "status", "--json"], env={"PLAYBALL_AUTH_DATABASE_URL": outbox_url}
    )
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["backlog"] == 0
    assert status["parked_count"] == 0
    assert status["sent_retained"] == len(rows)
    assert status["oldest_unsent_age_seconds"] is None


def test_the_relay_runs_as_its_own_principal_and_writes_a_topic_once_granted_its_acls(
    *,
    store: SqlOutboxStore,
    outbox_url: str,
    unique_name: str,
    grant_acls: Callable[[str, str], None],
    relays: RelayProcesses,
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    """Not as the test process's admin: on a topic the relay's principal has no ACL on
    yet, the broker refuses it; the event waits, and goes once the ACLs are granted."""
    topic = unique_name
    ensure_topic(kafka_bootstrap, topic)
    register_subjects(registry_url, topic)
    event = user_event(topic, uuid.uuid4(), 1)
    insert_events(store, [event])
    relays.start(
        outbox_url,
        PLAYBALL_KAFKA_BOOTSTRAP=kafka_bootstrap,
        PLAYBALL_SCHEMA_REGISTRY_URL=registry_url,
        PLAYBALL_RELAY_BACKOFF_MAX_SECONDS=2,  # retry soon after the grant
    )
    wait_for(
        lambda: "authorization failed" in relays.log(0).lower(),
        60,
        "the broker to refuse the relay's principal the topic",
    )
    assert store.status(parked_limit=0).backlog == 1
    grant_acls(kafka_bootstrap, topic)
    wait_for(drained(store), 60, "the relay to deliver once granted")
    received = read_topic(kafka_bootstrap, topic, {event.event_id})
    assert [r.event_id for r in received] == [event.event_id]
