"""The whole promise of erasure, on a real broker with short bounds.

A PRIVATE one-broker Kafka (secured as the shared one: SASL_SSL, its principals and CA;
the session's, shared one test at a time with the broker-outage tests, see
tests/conftest.py: ``outage_kafka``) with a segment.ms and max.compaction.lag.ms of
three seconds and a cleaner that looks for work every second (for this test only); the
auth API, its relay and the groups consumer as processes.
A user registers, changes its name twice, gets a letter on the dead-letter topic, and is
deleted. Then nothing but the services' own roll markers is written, and within the
bound `playball privacy bound` prints (plus slack for the audit's own runs), `playball
privacy audit` finds none of the user's personal data anywhere. A consumer replaying the
topic from the beginning still learns that the user was deleted.
"""

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from groups.consuming import migrated, settings_for
from playball_core.manifest import dead_letter_topic
from playball_core.registry import RegistryClient
from playball_events.consumer.dlq_kafka import read_parked
from playball_events.contracts import UserUpdated
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_events.kafka_security import kafka_security_from_environment
from playball_events.roll_markers import is_control_key
from playball_events.serde import RecordDeserializer, RecordSerializer
from playball_groups.adapters.tables import known_users
from playball_groups.entrypoints.bootstrap import build_consumer
from playball_privacy.bound import dead_letter_pairs
from playball_privacy.topic_scan_kafka import scan_topic
from playball_stack.settings import StackSettings
from playball_stack.stack import Stack
from sqlalchemy import select
from support.cli import Ran, playball_here
from support.kafka import admin_client, client_config, high_watermarks
from support.principals import admin_environment
from support.private_kafka import running_cluster
from support.system import running_system

from privacy.topic_reader import read_all

pytestmark = [pytest.mark.stack, pytest.mark.slow]

TOPIC = PLAYBALL_AUTH_USER_EVENTS_V1.name
SHORT_BOUNDS = {
    "PLAYBALL_TOPIC_SEGMENT_MS": "3000",
    "PLAYBALL_TOPIC_MAX_COMPACTION_LAG_MS": "3000",
    "PLAYBALL_TOPIC_DELETE_RETENTION_MS": "1000",
    "PLAYBALL_RELAY_RETENTION_SECONDS": "1",
    "PLAYBALL_RELAY_CLEANUP_INTERVAL": "1",
    "PLAYBALL_RELAY_BACKOFF_MAX_SECONDS": "2",
}
CLEANER_BACKOFF_MS = "1000"
# each audit starts three programs and reads two topics: a few seconds a round on a
# loaded machine, which the deadline must leave room for beyond the bound
AUDIT_SLACK = 40.0
STEP = 60.0


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(0.2)
    return found


@contextmanager
def shortened_cleaner_backoff(bootstrap: str) -> Iterator[None]:
    """The broker's cleaner looks for work every second (a dynamic broker setting), until
    the block ends: the broker is the session's, and its next test expects the default."""
    admin = admin_client(bootstrap)
    [node] = admin.list_topics(timeout=30).brokers

    def alter(operation: AlterConfigOpType) -> None:
        entry = ConfigEntry(
            "log.cleaner.backoff.ms", CLEANER_BACKOFF_MS, incremental_operation=operation
        )
        resource = ConfigResource(
            ConfigResource.Type.BROKER, str(node), incremental_configs=[entry]
        )
        for future in admin.incremental_alter_configs([resource]).values():
            future.result(timeout=30)

    plain = ConfigResource(ConfigResource.Type.BROKER, str(node))

    def applied() -> bool:
        entries = admin.describe_configs([plain])[plain].result(timeout=30)
        return bool(entries["log.cleaner.backoff.ms"].value == CLEANER_BACKOFF_MS)

    alter(AlterConfigOpType.SET)
    try:
        wait_for(applied, 30, "the cleaner backoff to apply")
        yield
    finally:
        alter(AlterConfigOpType.DELETE)


def playball(words: list[str], env: dict[str, str]) -> Ran:
    """In this process: the audit is run every few hundred milliseconds until it finds
    nothing (as a program it is tested in test_privacy_audit.py)."""
    return playball_here(words, env)


class Account:
    """One user, through the auth API, with personal values nobody else has."""

    def __init__(self, client: httpx.Client, auth: str) -> None:
        self.client, self.auth = client, auth
        token = uuid.uuid4().hex[:12]
        self.username, self.password = f"erase{token}", f"pw-{uuid.uuid4().hex}"
        self.names = [f"Name {uuid.uuid4().hex[:12]}" for _ in range(3)]
        self.email = f"{token}@example.org"
        body = {"username": self.username, "email": self.email, "password": self.password}
        created = client.post(f"{auth}/users", json={**body, "display_name": self.names[0]})
        assert created.status_code == 201, created.text
        self.user_id = uuid.UUID(created.json()["id"])
        token_answer = client.post(
            f"{auth}/token",
            data={"username": self.username, "password": self.password, "scope": "account"},
        )
        assert token_answer.status_code == 200, token_answer.text
        self.headers = {"Authorization": f"Bearer {token_answer.json()['access_token']}"}

    @property
    def values(self) -> list[str]:
        return [self.username, self.email, *self.names]

    def rename(self, name: str) -> None:
        answer = self.client.patch(
            f"{self.auth}/users/me", json={"display_name": name}, headers=self.headers
        )
        assert answer.status_code == 200, answer.text

    def delete(self) -> None:
        answer = self.client.request(
            "DELETE",
            f"{self.auth}/users/me",
            json={"current_password": self.password},
            headers=self.headers,
        )
        assert answer.status_code == 204, answer.text


def forge_poison(bootstrap: str, registry_url: str, account: Account) -> None:
    """A message the consumer parks (version 0), carrying the user's name, keyed by it."""
    record = UserUpdated(
        event_id=uuid.uuid4(),
        occurred_at=dt.datetime.now(dt.UTC),
        user_id=account.user_id,
        user_version=0,
        username=account.username,
        display_name=account.names[1],
    )
    with RegistryClient(registry_url) as registry:
        value = RecordSerializer(registry, TOPIC).serialize(record)
    producer = Producer(client_config(bootstrap, **{"enable.idempotence": True}))
    # the relay's client and partitioner: the user's partition, behind its earlier events
    producer.produce(TOPIC, key=str(account.user_id).encode(), value=value)
    assert producer.flush(30) == 0


def letters_of(bootstrap: str, user_id: uuid.UUID) -> int:
    security = kafka_security_from_environment()
    parked = read_parked(bootstrap, dead_letter_topic(TOPIC), security=security)
    return sum(1 for letter in parked if letter.key == str(user_id).encode())


def audit(user_id: uuid.UUID, env: dict[str, str], values: list[str]) -> dict[str, Any]:
    result = playball(["privacy", "audit", str(user_id), "--json"], env)
    for value in values:
        assert value not in result.stdout + result.stderr, "the audit printed a personal value"
    assert result.returncode in {0, 1}, result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    report["exit"] = result.returncode
    return report


def topics_clean(bootstrap: str, registry_url: str, user_id: uuid.UUID) -> bool:
    """The audit's topic places (the topic and its .dlq), read in this process: none holds
    the user's personal data."""
    records = [subject.record for subject in PLAYBALL_AUTH_USER_EVENTS_V1.subjects]
    with RegistryClient(registry_url) as registry:
        decoder: RecordDeserializer[Any] = RecordDeserializer(registry, records)
        places = [
            scan_topic(
                bootstrap,
                name,
                str(user_id).encode(),
                decoder.deserialize,
                security=kafka_security_from_environment(),
            )
            for name in dead_letter_pairs([TOPIC])
        ]
    return all(place.error is None and not place.findings for place in places)


def only_markers_after_the_deletion(bootstrap: str, key: bytes) -> bool:
    """On the topic, nothing but roll markers follows the user's deletion in its partition:
    what rolled the segments was the markers alone."""
    messages = read_all(bootstrap, TOPIC)
    last = max((m for m in messages if m.key == key), key=lambda m: m.offset, default=None)
    assert last is not None, "the user's deletion is gone from the topic"
    later = [m for m in messages if m.partition == last.partition and m.offset > last.offset]
    return all(is_control_key(m.key) for m in later)


def only_markers_and_the_tombstone_since(
    bootstrap: str, topic: str, since: dict[int, int], key: bytes
) -> bool:
    """On ``topic``, since the offsets ``since``: roll markers, and the user's tombstone
    (if compaction has not removed it already), nothing else."""
    later = [m for m in read_all(bootstrap, topic) if m.offset >= since.get(m.partition, 0)]
    return all(is_control_key(m.key) or (m.key == key and m.value is None) for m in later)


def replayed_as_deleted(
    stack: StackSettings, bootstrap: str, tmp_path: Path, user: uuid.UUID
) -> bool:
    """A new consumer group with a new view, reading the topic from its beginning."""
    url = f"sqlite:///{tmp_path / 'replay.db'}"
    settings = settings_for(
        TOPIC,
        bootstrap,
        stack.effective_registry_url,
        url,
        groups_consumer_group=f"replay-{uuid.uuid4().hex[:8]}",
        topic_segment_ms=int(SHORT_BOUNDS["PLAYBALL_TOPIC_SEGMENT_MS"]),
        topic_max_compaction_lag_ms=int(SHORT_BOUNDS["PLAYBALL_TOPIC_MAX_COMPACTION_LAG_MS"]),
    )
    with migrated(url) as engine:
        consumer = build_consumer(settings, engine=engine)
        try:
            deadline = time.monotonic() + STEP
            while time.monotonic() < deadline:
                consumer.run_once()
                with engine.connect() as connection:
                    row = connection.execute(
                        select(known_users).where(known_users.c.user_id == user)
                    ).first()
                if row is not None and row.deleted:
                    return row.username is None and row.display_name is None
        finally:
            consumer.close()
    return False


@pytest.mark.xdist_group("outage-kafka")
def test_a_deleted_user_is_gone_everywhere_within_the_printed_bound(
    stack: StackSettings, outage_kafka: Stack, tmp_path: Path
) -> None:
    started = time.monotonic()
    kafka = running_cluster(outage_kafka)
    broker_up = time.monotonic() - started
    bootstrap = kafka.kafka_bootstrap
    with shortened_cleaner_backoff(bootstrap):
        # the private broker as the stack's own Kafka: the services run as their
        # principals, whose passwords it shares (as in tests/e2e/test_outages.py)
        settings = stack.model_copy(
            update={"kafka_bootstrap": None, "kafka_port": kafka.settings.kafka_port}
        )
        services = ("auth-api", "auth-relay", "groups-consumer")
        with (
            running_system(settings, tmp_path / "system", services, SHORT_BOUNDS) as system,
            httpx.Client(timeout=30) as client,
        ):
            system_up = time.monotonic() - started
            tools = {**system.env, **admin_environment(stack)}  # the admin, as an operator
            account = Account(client, system.auth_url)
            account.rename(account.names[1])
            forge_poison(bootstrap, stack.effective_registry_url, account)
            account.rename(account.names[2])  # a good message after it: the poison is parked
            wait_for(lambda: letters_of(bootstrap, account.user_id) == 1, STEP, "the letter")
            dlq_ends = high_watermarks(bootstrap, dead_letter_topic(TOPIC))
            before = audit(account.user_id, tools, account.values)
            # the audit sees, in every place it covers, the data it must later not see (the
            # outbox's sent rows may be gone already: a retention of one second)
            assert before["exit"] == 1
            holding = {place["location"] for place in before["places"] if place["findings"]}
            assert holding - {"auth.outbox"} == {
                "auth.users",
                "groups.known_users",
                f"kafka {TOPIC}",
                f"kafka {dead_letter_topic(TOPIC)}",
            }

            account.delete()
            deleted_at = time.monotonic()
            bound = playball(["privacy", "bound", "--json"], tools)
            assert bound.returncode == 0, bound.stdout + bound.stderr
            seconds = json.loads(bound.stdout)["bound_seconds"]
            assert seconds == pytest.approx(1 + 1 + 3 + 1.5 + 1)

            # The topics are the last to be clean (compaction): until they are, a whole
            # audit round (two service scans as programs) would only find them again
            wait_for(
                lambda: topics_clean(bootstrap, stack.effective_registry_url, account.user_id),
                seconds + AUDIT_SLACK,
                "the topics to hold none of the user's personal data",
            )
            rounds: list[float] = []  # when each audit round began, after the deletion

            def clean() -> dict[str, Any] | None:
                rounds.append(time.monotonic() - deleted_at)
                report = audit(account.user_id, tools, account.values)
                return report if report["exit"] == 0 else None

            report = wait_for(
                clean, seconds + AUDIT_SLACK, "the audit to find nothing within the bound"
            )
            took = rounds[-1]  # the data was gone when the round that found nothing began
            assert all(not place["findings"] for place in report["places"])
            assert all(place["error"] is None for place in report["places"])

            key = str(account.user_id).encode()
            assert only_markers_after_the_deletion(bootstrap, key)
            assert only_markers_and_the_tombstone_since(
                bootstrap, dead_letter_topic(TOPIC), dlq_ends, key
            )
            assert replayed_as_deleted(stack, bootstrap, tmp_path, account.user_id)
            print(  # for the record: where the time goes, and the erasure against its bound
                f"broker up {broker_up:.1f} s, system up {system_up:.1f} s; "
                f"found erased {took:.1f} s after the deletion ({len(rounds)} audit rounds), "
                f"bound {seconds:.1f} s"
            )
