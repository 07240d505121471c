"""R9, a rebalance storm: consumer processes of one group started, SIGTERMed and SIGKILLed
while events are produced; afterwards the view is the projection of what was produced.

Real Kafka, registry and PostgreSQL; every consumer is ``playball groups consume``.
"""

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
from playball_core.registry import RegistryClient
from playball_events.consumer.dlq_kafka import read_parked
from playball_events.contracts import UserDeleted
from playball_events.kafka_security import kafka_security_from_environment
from playball_groups.adapters.database import Engine, make_engine
from playball_groups.adapters.migrate import upgrade
from support.databases import fresh_postgres
from support.principals import service_acls_granted
from support.stack_env import free_port
from support.user_events import (
    EventProducer,
    UserEvent,
    create_event_topics,
    deleted,
    registered,
    updated,
)

from groups.consuming import committed, consumer_environment, metric, processed, wait_for

pytestmark = [pytest.mark.stack, pytest.mark.slow]

PLAYBALL = str(Path(sys.executable).parent / "playball")

# One membership change after each chunk of events; "term" and "kill" hit the oldest live
# member, so there is always someone left to consume and up to three members at once.
STORM = (
    "start",
    "start",
    "start",
    "term",
    "kill",
    "start",
    "kill",
    "start",
    "term",
    "start",
    "kill",
    "start",
)

# Every write the consumers make to the view, in the order PostgreSQL made them: a row
# trigger is part of the writing transaction, so a batch rolled back (or cut by SIGKILL)
# leaves no trace, and two consumers writing one user are serialized by its row lock.
VIEW_WRITES = (
    "CREATE TABLE view_writes (seq bigserial PRIMARY KEY, user_id uuid NOT NULL,"
    " user_version bigint NOT NULL, deleted boolean NOT NULL)",
    "CREATE FUNCTION record_view_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " INSERT INTO view_writes (user_id, user_version, deleted)"
    " VALUES (NEW.user_id, NEW.user_version, NEW.deleted); RETURN NULL; END $$",
    "CREATE TRIGGER view_writes AFTER INSERT OR UPDATE ON known_users"
    " FOR EACH ROW EXECUTE FUNCTION record_view_write()",
)

Row = tuple[int, bool, str | None]  # user_version, deleted, display_name


def history(users: Sequence[uuid.UUID]) -> list[UserEvent]:
    """Four versions of every user, a third of them deleted at v5, some sent twice.

    Ordered wave by wave (every user's v1, then every v2, ...), so each chunk of the
    stream holds many users; per-user order is the stream's order.
    """
    stream: list[UserEvent] = []
    for version in range(1, 5):
        for i, user in enumerate(users):
            name = f"user {i} v{version}"
            event = registered(user, 1, name) if version == 1 else updated(user, version, name)
            stream.append(event)
            if i % 10 == version:  # the relay's retry of a possibly persisted send
                stream.append(event)
    stream += [deleted(user, 5) for i, user in enumerate(users) if i % 3 == 0]
    return stream


def projection(events: Sequence[UserEvent]) -> dict[uuid.UUID, Row]:
    """The view the events must leave: each user's highest version, deletions as tombstones."""
    last: dict[uuid.UUID, UserEvent] = {}
    for event in events:
        seen = last.get(event.user_id)
        if seen is None or event.user_version > seen.user_version:
            last[event.user_id] = event
    return {
        user: (e.user_version, True, None)
        if isinstance(e, UserDeleted)
        else (e.user_version, False, e.display_name)
        for user, e in last.items()
    }


@dataclass
class Member:
    process: "subprocess.Popen[bytes]"
    metrics_port: int
    log: IO[bytes]
    ended_by: signal.Signals | None = None

    def stderr(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def has_polled(self) -> bool:
        assert self.process.poll() is None, f"consumer died:\n{self.stderr()}"
        try:
            return metric(self.metrics_port, "playball_consumer_last_poll_timestamp_seconds") > 0
        except OSError:  # not serving metrics yet
            return False


class Members:
    """The group's consumer processes; whatever is still running is SIGKILLed at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self._env = env
        self._logs = logs
        self.all: list[Member] = []
        self.live: list[Member] = []

    def start(self) -> Member:
        port = free_port()
        log = (self._logs / f"consumer-{len(self.all)}.log").open("w+b")
        process = subprocess.Popen(
            [PLAYBALL, "groups", "consume"],
            env={**self._env, "PLAYBALL_CONSUMER_METRICS_PORT": str(port)},
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        member = Member(process, port, log)
        self.all.append(member)
        self.live.append(member)
        # polling means the SIGTERM handler is installed and the member is joining
        wait_for(member.has_polled, 60, "a started consumer's first poll")
        return member

    def end_oldest(self, how: signal.Signals) -> None:
        member = self.live.pop(0)
        member.ended_by = how
        member.process.send_signal(how)

    def close(self) -> None:
        for member in self.all:
            if member.process.poll() is None:
                os.killpg(member.process.pid, signal.SIGKILL)
                member.process.wait(timeout=30)
            member.log.close()


@pytest.fixture
def groups_database(database_url: str) -> Iterator[tuple[Engine, str]]:
    with fresh_postgres(database_url, "playball_groups") as url:
        engine = make_engine(url)
        upgrade(engine)
        with engine.begin() as connection:
            for statement in VIEW_WRITES:
                connection.exec_driver_sql(statement)
        yield engine, url
        engine.dispose()


def test_rebalance_storm_loses_nothing_applies_nothing_twice_and_rebuilds_the_projection(
    groups_database: tuple[Engine, str],
    kafka_bootstrap: str,
    registry_url: str,
    unique_name: str,
    tmp_path: Path,
    consumer_principal: dict[str, str],
) -> None:
    engine, url = groups_database
    topic, group = unique_name, f"{unique_name}-groups"
    users = [uuid.uuid4() for _ in range(150)]
    stream = history(users)
    chunk = -(-len(stream) // len(STORM))  # ceiling: every event goes out during the storm
    env = consumer_environment(
        topic,
        kafka_bootstrap,
        registry_url,
        url,
        consumer_principal,
        # small batches: many transactions, so changes land between and inside them
        PLAYBALL_GROUPS_BATCH_SIZE="20",
        # the broker's minimum: a SIGKILLed member holds its partitions the least time
        PLAYBALL_GROUPS_SESSION_TIMEOUT_MS="6000",
    )
    members = Members(env, tmp_path)
    with RegistryClient(registry_url) as registry:
        create_event_topics(kafka_bootstrap, registry, topic)
        producer = EventProducer(kafka_bootstrap, registry, topic)
        with service_acls_granted(kafka_bootstrap, topic, group):
            try:
                for step, change in enumerate(STORM):
                    before = processed(engine)
                    producer.send(stream[step * chunk : (step + 1) * chunk])
                    if change == "start":
                        members.start()
                    else:
                        members.end_oldest(signal.SIGTERM if change == "term" else signal.SIGKILL)
                    # the next change comes only once the group is consuming again
                    wait_for(lambda: processed(engine) > before, 60, f"progress after {change}")  # noqa: B023

                drainer = members.live[-1]
                while len(members.live) > 1:
                    members.end_oldest(signal.SIGTERM)
                event_ids = {e.event_id for e in stream}
                wait_for(lambda: processed(engine) == len(event_ids), 120, "every event processed")
                wait_for(
                    lambda: metric(drainer.metrics_port, "playball_consumer_lag") == 0, 60, "lag 0"
                )
                members.end_oldest(signal.SIGTERM)
                for member in members.all:
                    member.process.wait(timeout=60)
            finally:
                members.close()

    for member in members.all:
        expected = 0 if member.ended_by is signal.SIGTERM else -signal.SIGKILL
        assert member.process.returncode == expected, member.stderr()
    assert committed(kafka_bootstrap, group, topic) == len(stream)  # every offset, none behind

    with engine.connect() as connection:
        view = {
            row.user_id: (row.user_version, row.deleted, row.display_name)
            for row in connection.exec_driver_sql(
                "SELECT user_id, user_version, deleted, display_name FROM known_users"
            )
        }
        processed_ids = {
            row[0] for row in connection.exec_driver_sql("SELECT event_id FROM processed_events")
        }
        writes = list(
            connection.exec_driver_sql(
                "SELECT user_id, user_version, deleted FROM view_writes ORDER BY seq"
            )
        )
    assert view == projection(stream)  # deleted users are tombstones, none came back
    assert processed_ids == event_ids  # none lost; one row per id, so none twice

    # Per user, every write raised the version: no event applied twice, none out of order,
    # no tombstone overwritten.
    last: dict[uuid.UUID, tuple[int, bool]] = {}
    for user, version, is_deleted in writes:
        previous = last.get(user)
        assert previous is None or (version > previous[0] and not previous[1]), (
            f"{user}: v{version} (deleted={is_deleted}) written after {previous}"
        )
        last[user] = (version, is_deleted)

    assert (
        read_parked(kafka_bootstrap, f"{topic}.dlq", security=kafka_security_from_environment())
        == []
    )
