"""Outbox rows for tests and benchmarks: real contract payloads, as the auth writer makes them."""

import dataclasses
import datetime as dt
import functools
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from playball_core.manifest import topic_record_subject
from playball_events.contract_topics import Subject, Topic
from playball_events.contracts import UserDeleted, UserRegistered, UserUpdated
from playball_events.outbox.model import NewOutboxEvent, new_outbox_event
from playball_events.outbox.store_sql import SqlOutboxStore, outages_as_unavailable
from playball_events.outbox.writer_sql import write_outbox_events

RECORDS: tuple[type[Any], ...] = (UserRegistered, UserUpdated, UserDeleted)


def full_name(cls: type[Any]) -> str:
    schema = cls.avro_schema()
    return f"{schema['namespace']}.{schema['name']}"


@functools.cache
def user_events_topic(name: str) -> Topic:
    """A topic named ``name`` carrying the user events, as the manifest declares one."""
    return Topic(
        name=name,
        subjects=tuple(
            Subject(
                name=topic_record_subject(name, full_name(cls)),
                record=cls,
                record_full_name=full_name(cls),
                compatibility="FULL_TRANSITIVE",
            )
            for cls in RECORDS
        ),
    )


def subjects(topic: str) -> dict[str, type[Any]]:
    """The subjects a test topic needs (TopicRecordNameStrategy) and their classes."""
    return {subject.name: subject.record for subject in user_events_topic(topic).subjects}


def user_event(
    topic: str, user_id: uuid.UUID, version: int, *, last: bool = False, traceparent: str = ""
) -> NewOutboxEvent:
    """Version 1 registers the user, later ones update it, ``last`` deletes it."""
    record: Any
    common: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "occurred_at": dt.datetime.now(dt.UTC),
        "user_id": user_id,
        "user_version": version,
    }
    if version == 1:
        record = UserRegistered(**common, username=f"u{user_id.hex[:8]}", display_name="New")
    elif last:
        record = UserDeleted(**common)
    else:
        record = UserUpdated(**common, username=f"u{user_id.hex[:8]}", display_name=f"v{version}")
    event = new_outbox_event(
        record, user_events_topic(topic), aggregate_id=str(user_id), aggregate_version=version
    )
    return (
        dataclasses.replace(event, headers={"traceparent": traceparent}) if traceparent else event
    )


def user_histories(
    topic: str, users: int, versions: int, *, delete_last: bool = False
) -> Iterator[list[NewOutboxEvent]]:
    """``versions`` events for each of ``users`` users, one list per user."""
    for _ in range(users):
        user_id = uuid.uuid4()
        yield [
            user_event(topic, user_id, v, last=delete_last and v == versions and v > 1)
            for v in range(1, versions + 1)
        ]


def insert_events(store: SqlOutboxStore, events: Sequence[NewOutboxEvent]) -> None:
    """``events`` in one transaction, written as the service's writer writes them.

    On PostgreSQL its commit wakes the relay, through the table's trigger. No trace headers:
    not written from a request. A database that does not answer raises
    :class:`~playball_events.outbox.ports.StoreUnavailableError`, as the store does.
    """
    with outages_as_unavailable(), store.engine.begin() as conn:
        write_outbox_events(conn, store.table, events, headers=dict)
