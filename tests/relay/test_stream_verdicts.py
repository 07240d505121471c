"""The log-based relay's per-batch check on the stack's PostgreSQL: a row the stream sent is
deleted once acked (``remove_streamed``), and a replay of the log must tell such a row,
gone for good, from one whose commit the database does not show yet.

The row's inserting transaction decides: visible in the check's snapshot, the row would be
too, so it is gone (sent) and skipped at once; not visible yet, it is looked for again.
"""

import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from playball_events.outbox.ports import OutboxEvent
from playball_events.outbox.store_postgres_sql import PostgresOutboxStore, postgres_outbox_engine
from playball_events.outbox.store_sql import SqlOutboxStore
from support.outbox import insert_events, user_event

pytestmark = pytest.mark.stack

TOPIC = "verdicts.user-events"


@pytest.fixture
def capture(outbox_url: str) -> Iterator[PostgresOutboxStore]:
    store = PostgresOutboxStore(postgres_outbox_engine(outbox_url, for_relay=True))
    yield store
    store.engine.dispose()


def rows_with_xids(store: SqlOutboxStore) -> list[tuple[OutboxEvent, int]]:
    """Every row as the stream would carry it, with its inserting transaction's id (32
    bits, as the log gives it)."""
    with store.engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT seq, event_id, aggregate_id, aggregate_version, record_type, topic,"
            " subject, payload, schema_fingerprint, headers::text, created_at, attempts,"
            " xmin::text::bigint FROM outbox ORDER BY seq"
        ).all()
    return [(OutboxEvent.from_columns(row[:-1]), row[-1]) for row in found]


def no_second_look(monkeypatch: pytest.MonkeyPatch) -> None:
    def sleep(_seconds: float) -> None:
        pytest.fail("the check looked for a row again")

    monkeypatch.setattr(time, "sleep", sleep)


def test_rows_removed_once_acked_are_recognised_as_sent_without_a_second_look(
    store: SqlOutboxStore, capture: PostgresOutboxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    insert_events(store, [user_event(TOPIC, alice, 1), user_event(TOPIC, bob, 1)])
    insert_events(store, [user_event(TOPIC, alice, 2)])
    (a1, xa1), (b1, xb1), (a2, xa2) = rows_with_xids(store)
    assert xa1 == xb1 != xa2  # one transaction each
    capture.remove_streamed([a1, b1])  # acked: deleted

    no_second_look(monkeypatch)
    deliverable, held = capture.stream_verdicts([a1.seq, b1.seq, a2.seq], [xa1, xb1, xa2])

    assert deliverable == {a2.seq}  # the log read again: only the row still there goes
    assert held == set()
    assert [e.seq for e, _ in rows_with_xids(store)] == [a2.seq]


def test_only_unsent_rows_are_removed(store: SqlOutboxStore, capture: PostgresOutboxStore) -> None:
    insert_events(store, [user_event(TOPIC, uuid.uuid4(), 1), user_event(TOPIC, uuid.uuid4(), 1)])
    (done, _), (kept, _) = rows_with_xids(store)
    capture.mark_sent([done])  # sent from the table (a polling relay): kept for the retention

    capture.remove_streamed([done, kept])

    assert [e.seq for e, _ in rows_with_xids(store)] == [done.seq]
    assert store.status(parked_limit=0).sent == 1


def test_a_row_whose_commit_is_not_visible_yet_is_looked_for_until_it_shows(
    outbox_url: str,
    store: SqlOutboxStore,
    capture: PostgresOutboxStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stand-in for a commit read from the log before the committing session publishes
    it: a transaction still open, whose row and id the check is given."""
    dsn = outbox_url.replace("postgresql+psycopg://", "postgresql://")
    writer = psycopg.connect(dsn)
    try:
        event = user_event(TOPIC, uuid.uuid4(), 1)
        row = writer.execute(
            "INSERT INTO outbox (event_id, aggregate_id, aggregate_version, record_type, topic,"
            " subject, payload, schema_fingerprint, headers, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '{}', now())"
            " RETURNING seq, (pg_current_xact_id()::text::bigint & 4294967295)",
            [
                event.event_id,
                event.aggregate_id,
                event.aggregate_version,
                event.record_type,
                event.topic,
                event.subject,
                event.payload,
                event.schema_fingerprint,
            ],
        ).fetchone()
        assert row is not None
        seq, xid = row
        looks: list[float] = []

        def sleep(seconds: float) -> None:  # between two looks: the writer commits at the second
            looks.append(seconds)
            if len(looks) == 2:
                writer.commit()

        monkeypatch.setattr(time, "sleep", sleep)

        deliverable, held = capture.stream_verdicts([seq], [xid])

        assert len(looks) >= 2  # not taken for gone while its transaction was open
        assert (deliverable, held) == ({seq}, set())
    finally:
        writer.close()
