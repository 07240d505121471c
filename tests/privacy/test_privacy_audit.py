"""`playball privacy audit` against leftovers seeded in every place it covers.

One user's personal data is planted in the auth database (the account row, an outbox
row), the groups database (the view row; the processed-events table holds event ids
only), the topic and the dead-letter topic. The audit, run as the program an operator
runs, must find each place (exit 1), never print the values, and find nothing once each
leftover is removed (exit 0); a place it cannot read is named (exit 3). Databases and
topics are the test's own: SQLite files, and topics on the shared broker."""

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from playball_auth.adapters.database_sql import make_engine as make_auth_engine
from playball_auth.adapters.database_sql import migrate as migrate_auth
from playball_auth.adapters.database_sql import session_factory
from playball_auth.adapters.unit_of_work_sql import SqlUnitOfWork
from playball_auth.domain.model import User
from playball_core.manifest import dead_letter_topic
from playball_core.registry import RegistryClient
from playball_events.consumer.dead_letters_kafka import KafkaDeadLetters
from playball_events.consumer.ports import DeadLetter, RawMessage
from playball_events.contracts import UserUpdated
from playball_events.kafka_security import kafka_security_from_environment
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.serde import RecordSerializer
from playball_groups.adapters.database import make_engine as make_groups_engine
from playball_groups.adapters.migrate import upgrade as migrate_groups
from playball_groups.adapters.tables import known_users, processed_events
from sqlalchemy import Engine, insert, text, update
from support.kafka import admin_client
from support.user_events import EventProducer, create_event_topics

pytestmark = pytest.mark.stack

TIMEOUT = 120


@dataclass
class Seeded:
    user_id: uuid.UUID
    username: str
    display_name: str
    email: str
    topic: str
    auth: Engine
    groups: Engine
    env: dict[str, str]

    @property
    def values(self) -> list[str]:
        """The personal values planted: none may ever show in the audit's output."""
        return [self.username, self.display_name, self.email]


def audit(seeded: Seeded, **env: str) -> tuple[int, dict[str, Any], str]:
    """``playball privacy audit`` as a program: its exit code, JSON report, whole output."""
    result = subprocess.run(
        [
            *(sys.executable, "-m", "playball_cli", "privacy", "audit", str(seeded.user_id)),
            *("--topic", seeded.topic, "--json"),
        ],
        env={**os.environ, **seeded.env, **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    output = result.stdout + result.stderr
    for value in seeded.values:
        assert value not in output, "the audit printed a personal value"
    return result.returncode, json.loads(result.stdout), output


def found(report: dict[str, Any]) -> dict[str, list[tuple[str, list[str]]]]:
    """Each place's findings: (position, fields)."""
    return {
        place["location"]: [(f["position"], f["fields"]) for f in place["findings"]]
        for place in report["places"]
    }


@pytest.fixture
def seeded(
    tmp_path: Path, kafka_bootstrap: str, registry_url: str, unique_name: str
) -> Iterator[Seeded]:
    auth_url, groups_url = (f"sqlite:///{tmp_path / name}" for name in ("auth.db", "groups.db"))
    auth, groups = make_auth_engine(auth_url), make_groups_engine(groups_url)
    migrate_auth(auth)
    migrate_groups(groups)
    token = uuid.uuid4().hex[:10]
    username, display_name = f"pii{token}", f"Private {uuid.uuid4().hex[:10]}"
    email = f"{token}@example.org"
    sessions = session_factory(auth)
    user = User.register(
        username=username,
        email=email,
        password_hash="not-a-real-hash",
        display_name=display_name,
        now=datetime.now(UTC),
    )
    with SqlUnitOfWork(sessions) as uow:  # the account row and its UserRegistered row
        uow.users.add(user)
        uow.commit()
    event = user.registered_event(datetime.now(UTC))
    with groups.begin() as connection:  # what the consumer makes of it
        connection.execute(
            insert(known_users).values(
                user_id=user.id,
                user_version=1,
                deleted=False,
                username=username,
                display_name=display_name,
                updated_at=datetime.now(UTC),
            )
        )
        connection.execute(
            insert(processed_events).values(
                event_id=event.event_id,
                topic=unique_name,
                partition=0,
                offset=0,
                processed_at=datetime.now(UTC),
            )
        )
    with RegistryClient(registry_url) as registry:
        create_event_topics(kafka_bootstrap, registry, unique_name, partitions=1)
        EventProducer(kafka_bootstrap, registry, unique_name).send([event])
        poison = UserUpdated(
            event_id=uuid.uuid4(),
            occurred_at=dt.datetime.now(dt.UTC),
            user_id=user.id,
            user_version=0,  # invalid: parked
            username=username,
            display_name=display_name,
        )
        value = RecordSerializer(registry, unique_name).serialize(poison)
    letter = RawMessage(unique_name, 0, 1, str(user.id).encode(), value)
    KafkaDeadLetters(kafka_bootstrap, security=kafka_security_from_environment()).park(
        [DeadLetter(message=letter, reason="user_version 0 is not positive", kind="invalid")]
    )
    env = {
        "PLAYBALL_AUTH_DATABASE_URL": auth_url,
        "PLAYBALL_GROUPS_DATABASE_URL": groups_url,
        "PLAYBALL_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PLAYBALL_SCHEMA_REGISTRY_URL": registry_url,
    }
    try:
        yield Seeded(user.id, username, display_name, email, unique_name, auth, groups, env)
    finally:
        auth.dispose()
        groups.dispose()


def remove_every_leftover(seeded: Seeded, kafka_bootstrap: str) -> None:
    """What erasure does to each place (here by hand: tests/privacy/test_erasure_bound.py
    proves the system does it by itself)."""
    with SqlUnitOfWork(session_factory(seeded.auth)) as uow:  # the account: deleted
        user = uow.users.get(seeded.user_id)
        assert user is not None
        user.delete(datetime.now(UTC))
        uow.users.delete(user)
        uow.commit()
    store = open_outbox_store(str(seeded.auth.url))  # the rows: sent, then cleaned up
    try:
        store.mark_sent(store.claim_batch("audit-test", 100, timedelta(seconds=60)))
        with seeded.auth.begin() as connection:
            connection.execute(
                text("UPDATE outbox SET sent_at = :t"), {"t": datetime.now(UTC) - timedelta(days=2)}
            )
        assert store.cleanup(timedelta(days=1), 100, 10) == 2
    finally:
        store.engine.dispose()
    with seeded.groups.begin() as connection:  # the view: a tombstone
        connection.execute(
            update(known_users)
            .where(known_users.c.user_id == seeded.user_id)
            .values(deleted=True, user_version=2, username=None, display_name=None)
        )
    admin = admin_client(kafka_bootstrap)  # the topics: emptied (the test's own topics are
    # not compacted, so their records can be deleted outright)
    for topic in (seeded.topic, dead_letter_topic(seeded.topic)):
        for future in admin.delete_records([TopicPartition(topic, 0, -1)]).values():
            future.result(timeout=30)
    # a tombstone of the user's letters and the consumer's markers hold nothing personal
    letters = KafkaDeadLetters(kafka_bootstrap, security=kafka_security_from_environment())
    letters.erase([RawMessage(seeded.topic, 0, 0, str(seeded.user_id).encode(), None)])
    assert letters.roll_markers([seeded.topic]).write() == 1


def test_every_leftover_is_found_by_place_and_field_then_none_once_removed(
    seeded: Seeded, kafka_bootstrap: str
) -> None:
    code, report, _output = audit(seeded)
    assert code == 1
    assert report["user_id"] == str(seeded.user_id)
    places = found(report)
    assert places["auth.users"] == [
        (f"row id {seeded.user_id}", ["username", "display_name", "email"])
    ]
    [(position, fields)] = places["auth.outbox"]
    assert position.startswith("row seq 1 ")
    assert fields == ["username", "display_name"]
    [(position, fields)] = places["groups.known_users"]
    assert fields == ["username", "display_name"]
    assert places["groups.processed_events"] == []  # event ids and offsets: nothing personal
    assert places[f"kafka {seeded.topic}"] == [
        ("partition 0 offset 0", ["username", "display_name"])
    ]
    dlq = dead_letter_topic(seeded.topic)
    assert places[f"kafka {dlq}"] == [("partition 0 offset 0", ["username", "display_name"])]

    remove_every_leftover(seeded, kafka_bootstrap)
    code, report, output = audit(seeded)
    assert code == 0, output
    assert all(not findings for findings in found(report).values())
    assert {place["location"] for place in report["places"]} == set(places)  # all looked at


def test_a_place_that_cannot_be_read_is_named_and_exits_3(
    seeded: Seeded, kafka_bootstrap: str, tmp_path: Path
) -> None:
    remove_every_leftover(seeded, kafka_bootstrap)
    missing = f"sqlite:///{tmp_path / 'no-such-directory' / 'groups.db'}"
    code, report, output = audit(seeded, PLAYBALL_GROUPS_DATABASE_URL=missing)
    assert code == 3, output
    unreachable = {p["location"] for p in report["places"] if p["error"] is not None}
    assert unreachable == {"groups.known_users", "groups.processed_events"}
