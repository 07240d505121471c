"""The groups consumer on the real Kafka, registry and PostgreSQL (and SQLite)."""

import io
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import fastavro
import pytest
from confluent_kafka import TopicPartition
from playball_core.registry import RegistryClient
from playball_events.consumer.dlq_kafka import read_parked
from playball_events.consumer.loop import BatchReport
from playball_events.contracts import UserRegistered
from playball_events.kafka_security import kafka_security_from_environment
from playball_events.serde import header
from playball_groups.adapters.database import Engine
from playball_groups.entrypoints.bootstrap import build_consumer
from playball_groups.service_layer.user_events import ViewLimits
from support.databases import fresh_postgres
from support.kafka import set_group_offsets
from support.user_events import (
    EventProducer,
    UserEvent,
    create_event_topics,
    deleted,
    headers_of,
    registered,
    updated,
)

from groups.consuming import (
    committed,
    drain,
    migrated,
    processed,
    settings_for,
    total,
    view_hash,
    view_row,
    wait_for,
)

pytestmark = pytest.mark.stack

PLAYBALL = str(Path(sys.executable).parent / "playball")


@pytest.fixture(scope="module")
def registry(registry_url: str) -> Iterator[RegistryClient]:
    with RegistryClient(registry_url) as registry:
        yield registry


@pytest.fixture
def topic(kafka_bootstrap: str, registry: RegistryClient, unique_name: str) -> str:
    create_event_topics(kafka_bootstrap, registry, unique_name)
    return unique_name


@pytest.fixture
def producer(kafka_bootstrap: str, registry: RegistryClient, topic: str) -> EventProducer:
    return EventProducer(kafka_bootstrap, registry, topic)


def test_duplicates_stale_updates_and_deletes_on_the_real_topic(
    topic: str,
    producer: EventProducer,
    engine_url: tuple[Engine, str],
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    engine, url = engine_url
    ada, bob = uuid.uuid4(), uuid.uuid4()
    first = registered(ada, 1, "Ada")
    update_bob = updated(bob, 2, "Bob 2")
    events: list[UserEvent] = [
        first,
        first,  # the same message delivered twice
        updated(ada, 3, "Ada 3"),
        updated(ada, 2, "Ada 2"),  # out of order: stale
        registered(bob, 1, "Bob"),
        update_bob,
        deleted(bob, 3),
        update_bob,  # redelivered after the delete
    ]
    producer.send(events)
    consumer = build_consumer(
        settings_for(topic, kafka_bootstrap, registry_url, url), engine=engine
    )
    try:
        reports = drain(consumer, len(events))
    finally:
        consumer.close()
    assert view_row(engine, ada) == (3, False, "Ada 3")
    assert view_row(engine, bob) == (3, True, None)
    assert total(reports, "applied") == 5
    assert total(reports, "duplicates") == 2
    assert total(reports, "stale") == 1


def test_applied_offsets_reach_the_group_while_the_consumer_runs(
    topic: str,
    producer: EventProducer,
    engine_url: tuple[Engine, str],
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    """A batch only stores its offsets; librdkafka's timer commits them, with no close or
    revoke needed. (That it never commits what was not applied: test_consumer_crash.)
    Every message also carries its producer's timestamp."""
    engine, url = engine_url
    applied = [registered(uuid.uuid4(), 1, f"user {n}") for n in range(40)]
    sent_from = int(time.time() * 1000)
    producer.send(applied)
    sent_until = int(time.time() * 1000)
    stamps: list[int | None] = []
    settings = settings_for(topic, kafka_bootstrap, registry_url, url)
    consumer = build_consumer(
        settings,
        engine=engine,
        on_applied=lambda outcome: stamps.extend(e.message.timestamp_ms for e in outcome.applied),
    )
    try:
        drain(consumer, len(applied))
        group = settings.groups_consumer_group
        wait_for(lambda: committed(kafka_bootstrap, group, topic) == len(applied), 30, "commit")
    finally:
        consumer.close()
    assert len(stamps) == len(applied)
    assert all(s is not None and sent_from <= s <= sent_until for s in stamps), stamps


def test_poison_is_parked_later_messages_applied_and_redrive_after_a_fix_applies_it(
    unique_name: str,
    database_url: str,
    kafka_bootstrap: str,
    registry_url: str,
    registry: RegistryClient,
) -> None:
    # One partition: poison is parked once a good message follows it in its partition
    # (a run still open is held, see docs/consumer.md), and here Bob's follows them all.
    topic = unique_name
    create_event_topics(kafka_bootstrap, registry, topic, partitions=1)
    producer = EventProducer(kafka_bootstrap, registry, topic)
    with fresh_postgres(database_url, "playball_groups") as url, migrated(url) as engine:
        settings = settings_for(topic, kafka_bootstrap, registry_url, url)
        ada, grace, bob = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        garbage = b"\x07not avro"
        long_name = registered(grace, 1, "Grace Brewster Murray Hopper")
        producer.send_raw(str(ada).encode(), garbage, [("event_id", b"x")])
        producer.send_raw(str(ada).encode(), header(2**31 - 7) + b"\x02", [])
        producer.send([long_name, registered(bob, 1, "Bob")])

        # a consumer whose view still has a 10-character display_name limit
        strict = build_consumer(settings, engine=engine, limits=ViewLimits(display_name=10))
        try:
            reports = drain(strict, 4)
        finally:
            strict.close()
        assert view_row(engine, bob) == (1, False, "Bob")  # later messages flow
        assert view_row(engine, grace) is None
        assert total(reports, "dead_lettered") == 3

        parked = read_parked(
            kafka_bootstrap, settings.dead_letter_topic, security=kafka_security_from_environment()
        )
        by_kind = {p.kind: p for p in parked}
        assert set(by_kind) == {"undecodable", "unknown_schema", "invalid"}
        assert by_kind["undecodable"].value == garbage
        assert "display_name of 28 characters" in by_kind["invalid"].reason
        assert by_kind["invalid"].source_topic == topic
        assert by_kind["invalid"].key == str(grace).encode()
        assert dict(by_kind["invalid"].original_headers) == dict(headers_of(long_name))
        assert by_kind["invalid"].source_offset >= 0

        env = {
            **os.environ,
            "PLAYBALL_GROUPS_TOPIC": topic,
            "PLAYBALL_KAFKA_BOOTSTRAP": kafka_bootstrap,
        }
        listed = subprocess.run(
            [PLAYBALL, "groups", "dlq", "list", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        rows = json.loads(listed.stdout)["messages"]
        assert {r["kind"] for r in rows} == {"undecodable", "unknown_schema", "invalid"}

        # the fix: the view's column was widened; redrive only the fixable one
        position = f"{by_kind['invalid'].partition}:{by_kind['invalid'].offset}"
        subprocess.run(
            [PLAYBALL, "groups", "dlq", "redrive", position],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        fixed = build_consumer(settings, engine=engine)
        try:
            reports = drain(fixed, 1)
        finally:
            fixed.close()
        assert view_row(engine, grace) == (1, False, "Grace Brewster Murray Hopper")
        assert total(reports, "applied") == 1


def test_unhandled_record_type_is_skipped_and_counted(
    topic: str,
    producer: EventProducer,
    engine_url: tuple[Engine, str],
    kafka_bootstrap: str,
    registry_url: str,
    registry: RegistryClient,
) -> None:
    engine, url = engine_url
    other = {
        "type": "record",
        "name": "UserLoggedIn",
        "namespace": "playball.auth.v1",
        "fields": [{"name": "user_id", "type": "string"}],
    }
    schema_id = registry.register(f"{topic}-playball.auth.v1.UserLoggedIn", json.dumps(other))
    user = uuid.uuid4()
    producer.send_raw(str(user).encode(), header(schema_id) + b"\x02a", [])
    producer.send([registered(user, 1, "Ada")])
    consumer = build_consumer(
        settings_for(topic, kafka_bootstrap, registry_url, url), engine=engine
    )
    try:
        reports = drain(consumer, 2)
    finally:
        consumer.close()
    assert (total(reports, "unhandled"), total(reports, "dead_lettered")) == (1, 0)
    assert view_row(engine, user) == (1, False, "Ada")


def test_replay_from_earliest_rebuilds_the_same_view(
    topic: str,
    producer: EventProducer,
    database_url: str,
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    users = [uuid.uuid4() for _ in range(60)]
    events: list[UserEvent] = [registered(u, 1, f"user {i}") for i, u in enumerate(users)]
    events += [updated(u, 2, f"renamed {i}") for i, u in enumerate(users) if i % 2]
    events += [deleted(u, 3) for i, u in enumerate(users) if i % 3 == 0]
    events += [updated(u, 2, "late") for u in users[:10]]  # stale or after delete
    producer.send(events)
    with fresh_postgres(database_url, "playball_groups") as url, migrated(url) as engine:
        settings = settings_for(topic, kafka_bootstrap, registry_url, url)
        consumer = build_consumer(settings, engine=engine)
        try:
            drain(consumer, len(events))
        finally:
            consumer.close()
        before = view_hash(engine)

        with engine.begin() as connection:
            from playball_groups.adapters.tables import (  # noqa: PLC0415
                known_users,
                processed_events,
            )
            from sqlalchemy import delete  # noqa: PLC0415

            connection.execute(delete(processed_events))
            connection.execute(delete(known_users))
        _reset_to_earliest(kafka_bootstrap, settings.groups_consumer_group, topic)

        again = build_consumer(settings, engine=engine)
        try:
            reports = drain(again, len(events))
        finally:
            again.close()
        assert total(reports, "duplicates") == 0  # really re-applied, not skipped
        assert view_hash(engine) == before


def _reset_to_earliest(bootstrap: str, group: str, topic: str) -> None:
    set_group_offsets(bootstrap, group, [TopicPartition(topic, p, 0) for p in range(6)])


def test_a_second_consumer_joining_mid_stream_loses_and_doubles_nothing(
    topic: str,
    producer: EventProducer,
    database_url: str,
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    users = [uuid.uuid4() for _ in range(200)]
    events: list[UserEvent] = [registered(u, 1, "one") for u in users]
    events += [updated(u, 2, "two") for u in users]
    events += [updated(u, 3, "three") for u in users]
    producer.send(events)
    with fresh_postgres(database_url, "playball_groups") as url, migrated(url) as engine:
        settings = settings_for(topic, kafka_bootstrap, registry_url, url, groups_batch_size=50)
        first = build_consumer(settings, engine=engine)
        second = None
        reports = []
        seconds: list[BatchReport] = []
        try:
            reports.append(first.run_once())
            while not reports[-1].messages:  # joined and got a first batch
                reports.append(first.run_once())
            second = build_consumer(settings, engine=engine)  # triggers a rebalance
            deadline = time.monotonic() + 120
            while processed(engine) < len(events):
                assert time.monotonic() < deadline, "the two consumers did not finish"
                reports.append(first.run_once())
                seconds.append(second.run_once())
        finally:
            first.close()
            if second is not None:
                second.close()
        assert processed(engine) == len(events)
        assert all(view_row(engine, u) == (3, False, "three") for u in users)
        assert total(seconds, "messages") > 0  # the partitions were really shared
        both = reports + seconds
        assert total(both, "applied") + total(both, "stale") == len(events)


def test_registry_unreachable_is_retried_never_parked(
    topic: str,
    producer: EventProducer,
    engine_url: tuple[Engine, str],
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    engine, url = engine_url
    user = uuid.uuid4()
    producer.send([registered(user, 1, "Ada")])
    settings = settings_for(topic, kafka_bootstrap, registry_url, url)
    down = settings.model_copy(update={"schema_registry_url": "http://127.0.0.1:9/apis/ccompat/v7"})
    blind = build_consumer(down, engine=engine)
    try:
        deadline = time.monotonic() + 60
        report = blind.run_once()
        while not report.retried:  # until the first batch arrived and failed to decode
            assert time.monotonic() < deadline
            report = blind.run_once()
    finally:
        blind.close()
    assert (
        read_parked(
            kafka_bootstrap, settings.dead_letter_topic, security=kafka_security_from_environment()
        )
        == []
    )
    assert view_row(engine, user) is None

    healthy = build_consumer(settings, engine=engine)  # same group: nothing was committed
    try:
        reports = drain(healthy, 1)
    finally:
        healthy.close()
    assert total(reports, "applied") == 1
    assert view_row(engine, user) == (1, False, "Ada")


def test_a_newer_producers_compatible_addition_is_read_with_the_generated_class(
    topic: str,
    producer: EventProducer,
    engine_url: tuple[Engine, str],
    kafka_bootstrap: str,
    registry_url: str,
    registry: RegistryClient,
) -> None:
    engine, url = engine_url
    newer = UserRegistered.avro_schema()
    newer["fields"].append({"name": "avatar_url", "type": ["null", "string"], "default": None})
    subject = f"{topic}-playball.auth.v1.UserRegistered"
    schema_id = registry.register(subject, json.dumps(newer))
    event = registered(uuid.uuid4(), 1, "Ada")
    body = io.BytesIO()
    datum = {**event.to_avro(), "avatar_url": "https://example.invalid/ada.png"}
    fastavro.schemaless_writer(body, fastavro.parse_schema(newer), datum)
    producer.send_raw(
        str(event.user_id).encode(), header(schema_id) + body.getvalue(), headers_of(event)
    )

    consumer = build_consumer(
        settings_for(topic, kafka_bootstrap, registry_url, url), engine=engine
    )
    try:
        reports = drain(consumer, 1)
    finally:
        consumer.close()
    assert (total(reports, "applied"), total(reports, "dead_lettered")) == (1, 0)
    assert view_row(engine, event.user_id) == (1, False, "Ada")
