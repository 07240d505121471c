"""Running the groups consumer in tests: settings for a test topic, and draining with a deadline."""

import hashlib
import os
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient
from playball_events.consumer.loop import BatchReport, EventConsumer
from playball_groups.adapters.database import Engine, make_engine
from playball_groups.adapters.migrate import upgrade
from playball_groups.adapters.unit_of_work import SqlUnitOfWork
from playball_groups.domain.user_view import UserEvent
from playball_groups.settings import GroupsSettings
from support.kafka import client_config, made_readers_topic


def settings_for(
    topic: str, bootstrap: str, registry_url: str, database_url: str, **extra: object
) -> GroupsSettings:
    group = str(extra.get("groups_consumer_group", f"{topic}-groups"))
    fields: dict[str, object] = {
        "groups_topic": topic,
        "groups_consumer_group": group,
        "kafka_bootstrap": bootstrap,
        "schema_registry_url": registry_url,
        "groups_database_url": database_url,
        "consumer_metrics_port": 0,
    }
    fields.update(extra)
    if "readers_topic" not in fields:  # its own, made here: never the shared one
        fields["readers_topic"] = made_readers_topic(bootstrap, group)
    return GroupsSettings(**fields)  # type: ignore[arg-type]


def consumer_environment(
    topic: str,
    bootstrap: str,
    registry_url: str,
    database_url: str,
    principal: Mapping[str, str],
    **extra: str,
) -> dict[str, str]:
    """The environment of a consumer process on ``topic`` (its group ``<topic>-groups``),
    what :func:`settings_for` is to one in this process; ``extra`` adds PLAYBALL_ settings.

    The process connects as ``principal`` (the consumer's, see the ``consumer_principal``
    fixture), never as the test process's admin: the test holds that principal's ACLs on
    the topic and group (:func:`support.principals.service_acls_granted`) while it runs.
    """
    group = extra.get("PLAYBALL_GROUPS_CONSUMER_GROUP", f"{topic}-groups")
    return {
        **os.environ,
        **principal,
        "PLAYBALL_GROUPS_TOPIC": topic,
        "PLAYBALL_GROUPS_CONSUMER_GROUP": group,
        # its own readers topic, made here: never the shared one (support.kafka)
        "PLAYBALL_READERS_TOPIC": extra.get("PLAYBALL_READERS_TOPIC")
        or made_readers_topic(bootstrap, group),
        "PLAYBALL_GROUPS_DATABASE_URL": database_url,
        "PLAYBALL_KAFKA_BOOTSTRAP": bootstrap,
        "PLAYBALL_SCHEMA_REGISTRY_URL": registry_url,
        **extra,
    }


@contextmanager
def migrated(url: str) -> Iterator[Engine]:
    """An engine on the groups database at ``url``, migrated; disposed of afterwards even
    when the test fails (a connection left to the garbage collector fails a later test)."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()


def drain(
    consumer: EventConsumer[UserEvent, Any], messages: int, timeout: float = 90.0
) -> list[BatchReport]:
    """Run batches until ``messages`` were handled (applied, skipped or parked)."""
    reports: list[BatchReport] = []
    deadline = time.monotonic() + timeout
    while sum(r.messages for r in reports if not r.retried) < messages:
        assert time.monotonic() < deadline, f"only {reports} within {timeout}s"
        reports.append(consumer.run_once())
    return reports


def total(reports: list[BatchReport], field: str) -> int:
    return sum(len(v) if isinstance(v := getattr(r, field), list) else v for r in reports)


def view_row(engine: Engine, user_id: uuid.UUID) -> tuple[int, bool, str | None] | None:
    with SqlUnitOfWork(engine) as uow:
        found = uow.users.get(user_id)
    return None if found is None else (found.user_version, found.deleted, found.display_name)


def view_hash(engine: Engine) -> str:
    """A digest of the whole user view (sorted), to compare a replay with the original."""
    from playball_groups.adapters.tables import known_users  # noqa: PLC0415
    from sqlalchemy import select  # noqa: PLC0415

    digest = hashlib.sha256()
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                known_users.c.user_id,
                known_users.c.user_version,
                known_users.c.deleted,
                known_users.c.username,
                known_users.c.display_name,
            ).order_by(known_users.c.user_id)
        )
        for row in rows:
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.1)


def processed(engine: Engine) -> int:
    """Rows in the processed-events table."""
    from playball_groups.adapters.tables import processed_events  # noqa: PLC0415
    from sqlalchemy import func, select  # noqa: PLC0415

    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(processed_events)) or 0)


def committed(bootstrap: str, group: str, topic: str, partitions: int = 6) -> int:
    """Sum of the group's committed offsets on the topic (0 for nothing committed)."""
    admin = AdminClient(client_config(bootstrap))
    request = [
        ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(partitions)])
    ]
    [future] = admin.list_consumer_group_offsets(request).values()
    return sum(max(0, tp.offset) for tp in future.result(timeout=30).topic_partitions)


def metric(port: int, name: str) -> float:
    """One unlabelled (or first labelled) sample of a consumer process's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith((name + "{", name + " ")):
                return float(line.rsplit(" ", 1)[1])
    return 0.0
