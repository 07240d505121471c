"""Tagging a schema parks nothing: the outbox fingerprint ignores ``doc`` and ``*:tags``.

A row written by the class generated from the *untagged* schemas (the deploy before the
tags) is delivered by a relay running the tagged classes: its fingerprint matches, and the
relay's header lookup (:class:`SchemaHeaders`, the check that parks a foreign payload)
finds the registered schema. Rows written before fingerprints ignored tags (the whole
schema hashed) are still accepted when only the tags differ; a real change still parks.
"""

import copy
import dataclasses
import datetime as dt
import hashlib
import json
import sys
import types
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playball_codegen.generate import plan
from playball_core.avro.tags import without_tags
from playball_core.manifest import topic_record_subject
from playball_core.registry import InMemoryRegistry
from playball_events.contract_topics import Subject, Topic
from playball_events.contracts import UserDeleted, UserRegistered, UserUpdated
from playball_events.outbox.model import NewOutboxEvent, new_outbox_event, schema_fingerprint
from playball_events.outbox.ports import OutboxEvent
from playball_events.outbox.schema_ids import SchemaHeaders, UndeliverableEventError
from playball_events.serde import header

REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
TOPIC = "unit.fingerprint.user-events"
FULL_NAME = "playball.auth.v1.UserRegistered"
SUBJECT = topic_record_subject(TOPIC, FULL_NAME)


@pytest.fixture(scope="module")
def untagged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[types.ModuleType]:
    """The record classes codegen makes of the schemas without their tags."""
    work = tmp_path_factory.mktemp("untagged")
    schemas = work / "schemas"
    schemas.mkdir()
    for path in REPO_SCHEMAS.glob("*.avsc"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        (schemas / path.name).write_text(json.dumps(without_tags(schema)), encoding="utf-8")
    package = "untagged_contracts"
    source = plan(schemas, work / "out", package).files["records.py"]
    module = types.ModuleType(f"{package}.records")
    # dataclasses resolves the string annotations (ClassVar) through sys.modules
    sys.modules[module.__name__] = module
    try:
        exec(compile(source, f"<{package}>", "exec"), module.__dict__)
        yield module
    finally:
        del sys.modules[module.__name__]


def registered_user(record_class: type[Any]) -> Any:
    return record_class(
        event_id=uuid.uuid4(),
        occurred_at=dt.datetime.now(dt.UTC),
        user_id=uuid.uuid4(),
        user_version=1,
        username="someone",
        display_name="Some One",
    )


def topic_of(record_class: type[Any]) -> Topic:
    subject = Subject(
        name=SUBJECT,
        record=record_class,
        record_full_name=FULL_NAME,
        compatibility="FULL_TRANSITIVE",
    )
    return Topic(name=TOPIC, subjects=(subject,))


def claimed(row: NewOutboxEvent) -> OutboxEvent:
    """The row as the relay claims it."""
    fields = {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}
    return OutboxEvent(seq=1, attempts=0, **fields)


def tagged_relay_headers() -> tuple[SchemaHeaders, int]:
    """The tagged deploy's header lookup, with the tagged schema registered."""
    registry = InMemoryRegistry()
    schema_id = registry.register(SUBJECT, json.dumps(UserRegistered.avro_schema()))
    records = {
        FULL_NAME: UserRegistered,
        "playball.auth.v1.UserUpdated": UserUpdated,
        "playball.auth.v1.UserDeleted": UserDeleted,
    }
    return SchemaHeaders(registry, records), schema_id


def test_the_repository_schemas_are_tagged(untagged: types.ModuleType) -> None:
    tagged_schema = UserRegistered.avro_schema()
    assert tagged_schema != untagged.UserRegistered.avro_schema()
    assert UserRegistered.PERSONAL_FIELDS == ("username", "display_name")
    assert untagged.UserRegistered.PERSONAL_FIELDS == ()


def test_a_row_of_the_untagged_class_is_delivered_by_the_tagged_relay(
    untagged: types.ModuleType,
) -> None:
    record = registered_user(untagged.UserRegistered)
    row = new_outbox_event(
        record,
        topic_of(untagged.UserRegistered),
        aggregate_id=str(record.user_id),
        aggregate_version=1,
    )
    assert row.schema_fingerprint == schema_fingerprint(UserRegistered.avro_schema())
    headers, schema_id = tagged_relay_headers()
    assert headers.header(claimed(row)) == header(schema_id)
    # the payload is the same bytes the tagged class writes, and it reads back
    same = UserRegistered.from_avro_bytes(row.payload)
    assert (same.username, same.display_name) == ("someone", "Some One")


def test_a_row_fingerprinted_by_an_earlier_deploy_is_delivered_when_only_tags_differ(
    untagged: types.ModuleType,
) -> None:
    # Earlier deploys hashed the whole schema, doc and all.
    whole = json.dumps(
        untagged.UserRegistered.avro_schema(),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    legacy = hashlib.sha256(whole.encode()).hexdigest()
    assert legacy != schema_fingerprint(UserRegistered.avro_schema())
    record = registered_user(UserRegistered)
    row = new_outbox_event(
        record, topic_of(UserRegistered), aggregate_id=str(record.user_id), aggregate_version=1
    )
    row = dataclasses.replace(row, schema_fingerprint=legacy)
    headers, schema_id = tagged_relay_headers()
    assert headers.header(claimed(row)) == header(schema_id)


def changed(schema: dict[str, Any], change: str) -> dict[str, Any]:
    copied = copy.deepcopy(schema)
    field = copied["fields"][5]  # display_name
    if change == "doc":
        field["doc"] = "Another description."
        copied["doc"] = "Another record description."
    elif change == "tags":
        field["confluent:tags"] = ["PII", "SHOWN_TO_OTHERS"]
        field["acme:tags"] = ["X"]
    elif change == "default":
        field["default"] = "nobody"
    elif change == "type":
        field["type"] = ["null", "string"]
    elif change == "name":
        field["aliases"] = ["shown_name"]
    return copied


@pytest.mark.parametrize(
    ("change", "same"),
    [
        ("doc", True),
        ("tags", True),
        ("default", False),
        ("type", False),
        ("name", False),
    ],
)
def test_the_fingerprint_ignores_documentation_and_tags_only(change: str, same: bool) -> None:
    schema = UserRegistered.avro_schema()
    assert (schema_fingerprint(changed(schema, change)) == schema_fingerprint(schema)) is same


def test_a_row_written_under_a_really_different_schema_is_still_parked() -> None:
    other = changed(UserRegistered.avro_schema(), "default")
    row = new_outbox_event(
        registered_user(UserRegistered),
        topic_of(UserRegistered),
        aggregate_id=str(uuid.uuid4()),
        aggregate_version=1,
    )
    row = dataclasses.replace(row, schema_fingerprint=schema_fingerprint(other))
    headers, _ = tagged_relay_headers()
    with pytest.raises(UndeliverableEventError, match="another version"):
        headers.header(claimed(row))
