"""Tagging the schemas parks nothing on the running system (issue 20, "Fingerprints").

A row the deploy before the tags wrote carries the fingerprint it computed then: the
whole untagged schema, hashed. The running relay (tagged classes) delivers it, and a
row written by another schema version is still parked. Shares the package's one system
start with the flow test (see conftest.py).
"""

import dataclasses
import hashlib
import json
import time
import uuid

import pytest
from playball_core.avro.tags import without_tags
from playball_events.contracts import UserRegistered
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_events.outbox.model import OutboxState, new_outbox_event
from playball_events.outbox.store_factory_sql import open_outbox_store
from sqlalchemy import select
from support.outbox import insert_events
from support.system import RunningSystem
from support.user_events import now

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.xdist_group("e2e-system")]

DEADLINE = 60.0


def untagged_fingerprint_of_the_previous_deploy() -> str:
    """What ``schema_fingerprint`` gave before it ignored doc and tags, for the schema
    before the tags: sha256 of its whole canonical JSON."""
    schema = without_tags(UserRegistered.avro_schema())
    text = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_row_written_before_the_tags_is_delivered_by_the_tagged_relay(
    system: RunningSystem,
) -> None:
    rows = []
    for fingerprint in (untagged_fingerprint_of_the_previous_deploy(), "e" * 64):
        user = uuid.uuid4()
        record = UserRegistered(
            event_id=uuid.uuid4(),
            occurred_at=now(),
            user_id=user,
            user_version=1,
            username=f"u{user.hex[:12]}",
            display_name="Before the tags",
        )
        row = new_outbox_event(
            record, PLAYBALL_AUTH_USER_EVENTS_V1, aggregate_id=str(user), aggregate_version=1
        )
        rows.append(dataclasses.replace(row, schema_fingerprint=fingerprint))
    store = open_outbox_store(system.auth_database_url)
    try:
        insert_events(store, rows)
        query = select(store.table.c.event_id, store.table.c.state).where(
            store.table.c.event_id.in_([row.event_id for row in rows])
        )
        deadline = time.monotonic() + DEADLINE
        while True:
            with store.engine.connect() as conn:
                states = {row.event_id: row.state for row in conn.execute(query)}
            if OutboxState.PENDING.value not in states.values():
                break
            assert time.monotonic() < deadline, f"still pending after {DEADLINE:.0f} s: {states}"
            time.sleep(0.1)
    finally:
        store.engine.dispose()
    # written before the tags: delivered, so marked sent by a polling relay, or deleted
    # once acked by the log-based one (the system's default here); only that relay's
    # record of an ack removes a row this young
    assert states.get(rows[0].event_id, "removed once acked") in {
        OutboxState.SENT.value,
        "removed once acked",
    }
    assert states[rows[1].event_id] == OutboxState.PARKED.value  # another schema: parked
