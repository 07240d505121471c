"""The SQL store under random interleavings of insert, claim, ack, park, retry, reschedule,
release, time passing and cleanup: cleanup never removes an unsent row, and a claim
never hands out a user's event before every earlier one of that user is sent or in the
same claim. On SQLite (one relay at a time) and on Postgres (two relays)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from playball_events.outbox.ports import OutboxEvent, RelayLeaseHeldError, Retry
from playball_events.outbox.store_postgres_sql import PostgresOutboxStore, postgres_outbox_engine
from playball_events.outbox.store_sql import SqlOutboxStore
from playball_events.outbox.store_sqlite_sql import SqliteOutboxStore
from sqlalchemy import create_engine, select
from sqlalchemy.pool import StaticPool
from support.outbox import insert_events, user_event

LEASE = timedelta(seconds=30)
RELAYS = ("relay-a", "relay-b")

insert = st.tuples(st.just("insert"), st.integers(0, 4), st.integers(1, 3))
claim = st.tuples(st.just("claim"), st.sampled_from(RELAYS), st.integers(1, 6))
ack = st.tuples(st.just("ack"), st.sampled_from(RELAYS), st.integers(0, 6))
advance = st.tuples(st.just("advance"), st.integers(1, 45), st.just(0))
cleanup = st.tuples(st.just("cleanup"), st.integers(0, 20), st.just(0))
# the common path (insert, claim, ack, time, cleanup) weighted up, so cleanups find rows
op = st.one_of(
    insert,
    insert,
    claim,
    claim,
    ack,
    ack,
    advance,
    cleanup,
    cleanup,
    st.tuples(st.just("park"), st.sampled_from(RELAYS), st.integers(0, 6)),
    st.tuples(st.just("reschedule"), st.sampled_from(RELAYS), st.integers(0, 40)),
    st.tuples(st.just("release"), st.sampled_from(RELAYS), st.just(0)),
    st.tuples(st.just("retry"), st.integers(0, 30), st.just(0)),
)

# Found by this test: a relay whose lease ran out acks a row that another relay parked
# meanwhile. The broker has the message, so the row is sent, not left parked.
ACK_AFTER_ANOTHER_RELAY_PARKED = [
    ("insert", 0, 1),
    ("claim", "relay-a", 1),
    ("advance", 31, 0),
    ("claim", "relay-b", 1),
    ("park", "relay-b", 0),
    ("ack", "relay-a", 1),
]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def run(store: SqlOutboxStore, clock: Clock, ops: list[tuple[object, ...]]) -> None:
    users = [str(uuid.uuid4()) for _ in range(5)]
    next_version = dict.fromkeys(users, 1)
    inserted: dict[uuid.UUID, tuple[str, int]] = {}
    acked: set[uuid.UUID] = set()
    parked: list[uuid.UUID] = []
    held: dict[str, list[OutboxEvent]] = {relay: [] for relay in RELAYS}

    for kind, a, b in ops:
        if kind == "insert":
            user = users[int(a)]  # type: ignore[call-overload]
            events = []
            for _ in range(int(b)):  # type: ignore[call-overload]
                new = user_event("prop.topic", uuid.UUID(user), next_version[user])
                next_version[user] += 1
                events.append(new)
                inserted[new.event_id] = (user, new.aggregate_version)
            insert_events(store, events)
        elif kind == "claim":
            relay = str(a)
            try:
                batch = store.claim_batch(relay, int(b), LEASE)  # type: ignore[call-overload]
            except RelayLeaseHeldError:
                continue
            in_batch = {(e.aggregate_id, e.aggregate_version) for e in batch}
            for claimed in batch:
                for other, (user, version) in inserted.items():
                    if user == claimed.aggregate_id and version < claimed.aggregate_version:
                        assert other in acked or (user, version) in in_batch, (
                            f"v{claimed.aggregate_version} of {user} claimed before v{version}"
                        )
                assert claimed.event_id not in acked
            held[relay] = batch
            event(f"claimed {min(len(batch), 3)}+ rows")
        elif kind == "ack":
            relay = str(a)
            done, held[relay] = held[relay][: int(b)], held[relay][int(b) :]  # type: ignore[call-overload]
            store.mark_sent(done)
            acked.update(e.event_id for e in done)
        elif kind == "park" and held[str(a)]:
            victim = held[str(a)].pop(0)
            store.park(str(a), victim, "poison")
            parked.append(victim.event_id)
        elif kind == "reschedule":
            relay = str(a)
            retries = [
                Retry(e, "later", clock.now + timedelta(seconds=int(b)))  # type: ignore[call-overload]
                for e in held[relay]
            ]
            store.reschedule(relay, retries)
            held[relay] = []
        elif kind == "release":
            store.release(str(a))
            held[str(a)] = []
        elif kind == "retry" and parked:
            store.retry(parked[int(a) % len(parked)])  # type: ignore[call-overload]
        elif kind == "advance":
            clock.now += timedelta(seconds=int(a))  # type: ignore[call-overload]
        elif kind == "cleanup":
            removed = store.cleanup(timedelta(seconds=int(a)), batch_size=2, max_batches=3)  # type: ignore[call-overload]
            event(f"cleanup removed {min(removed, 2)}+ rows")

        table = store.table
        with store.engine.connect() as conn:
            rows = {row.event_id: row.state for row in conn.execute(select(table))}
        for event_id in inserted:
            if event_id not in acked:
                assert event_id in rows, "cleanup removed an unsent row"
                assert rows[event_id] in {"pending", "parked"}
        for event_id, state in rows.items():
            assert (state == "sent") == (event_id in acked)


@settings(max_examples=75)
@given(ops=st.lists(op, min_size=20, max_size=60))
@example(ops=ACK_AFTER_ANOTHER_RELAY_PARKED)
def test_sqlite_store_never_loses_an_unsent_row_nor_claims_out_of_order(
    ops: list[tuple[object, ...]],
) -> None:
    clock = Clock()
    engine = create_engine("sqlite://", poolclass=StaticPool)
    try:
        store = SqliteOutboxStore(engine, now=clock)
        store.create_table()
        run(store, clock, ops)
    finally:
        engine.dispose()


@pytest.mark.stack
# one database for every example (each example makes a table of its own in it)
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=20, max_size=40))
@example(ops=ACK_AFTER_ANOTHER_RELAY_PARKED)
def test_postgres_store_never_loses_an_unsent_row_nor_claims_out_of_order(
    outbox_url: str, ops: list[tuple[object, ...]]
) -> None:
    clock = Clock()
    store = PostgresOutboxStore(
        postgres_outbox_engine(outbox_url), table_name=f"outbox_{uuid.uuid4().hex[:10]}", now=clock
    )
    try:
        store.create_table()
        run(store, clock, ops)
        store.table.drop(store.engine)
    finally:
        store.engine.dispose()
