"""A long-running writer transaction (R14, and R7's commit-order inversion): its rows take
their seqs first but become visible last; on SQLite (R18) that cannot happen.

While it stays open, other users' later commits must flow through the relay without
waiting for it; once it commits, its rows, whose seqs are lower than rows already
delivered, must be delivered too. A relay reading "seq greater than the last seen" would
skip them for good; one that waited for the open transaction would stall everybody.

A user's own versions cannot overlap in time (auth raises the version under the user's
row lock), so the open transaction holds a new user's v1 and an existing user's next
version, and only other users commit meanwhile.
"""

import uuid
from pathlib import Path

import pytest
from playball_events.outbox.model import NewOutboxEvent
from playball_events.outbox.ports import StoreUnavailableError
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.outbox.store_sql import SqlOutboxStore
from playball_events.outbox.store_sqlite_sql import SqliteOutboxStore
from playball_events.outbox.writer_sql import write_outbox_events
from sqlalchemy import create_engine, select
from support.outbox import insert_events, user_event, user_histories

from relay.conftest import RelayProcesses, drained, open_slot, read_topic, wait_for
from relay.test_relay_faults import assert_order_and_nothing_lost, relay_env

pytestmark = pytest.mark.stack


def seqs_of(store: SqlOutboxStore, events: list[NewOutboxEvent]) -> dict[uuid.UUID, int]:
    table = store.table
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(table.c.event_id, table.c.seq).where(
                table.c.event_id.in_([e.event_id for e in events])
            )
        ).all()
    return {row.event_id: row.seq for row in rows}


@pytest.mark.parametrize("capture", ["poll", "wal"])
def test_a_long_open_transaction_holds_back_nobody_and_its_rows_are_delivered_at_commit(
    *,
    capture: str,
    store: SqlOutboxStore,
    outbox_url: str,
    topic: str,
    relays: RelayProcesses,
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    if capture == "wal":
        open_slot(outbox_url)
    relays.start(
        outbox_url, **relay_env(kafka_bootstrap, registry_url, PLAYBALL_RELAY_CAPTURE=capture)
    )
    new_user, existing_user = uuid.uuid4(), uuid.uuid4()
    before = [user_event(topic, existing_user, v) for v in (1, 2, 3)]
    for event in before:
        insert_events(store, [event])
    received = read_topic(kafka_bootstrap, topic, {e.event_id for e in before})
    assert {r.event_id for r in received} == {e.event_id for e in before}

    held = [user_event(topic, new_user, 1), user_event(topic, existing_user, 4)]
    meanwhile = [e for h in user_histories(topic, users=20, versions=3) for e in h]
    with store.engine.connect() as long_tx:
        transaction = long_tx.begin()
        # as the auth writer does: rows and NOTIFY in the change's own transaction
        write_outbox_events(long_tx, store.table, held)
        held_seqs = long_tx.execute(
            select(store.table.c.seq).where(store.table.c.event_id.in_([e.event_id for e in held]))
        ).scalars()
        held_max_seq = max(held_seqs)

        for event in meanwhile:  # other users' changes, each committed on its own
            insert_events(store, [event])
        assert min(seqs_of(store, meanwhile).values()) > held_max_seq  # seqs taken earlier

        received = read_topic(kafka_bootstrap, topic, {e.event_id for e in meanwhile})
        # everything committed later went through while the transaction is still open
        assert {r.event_id for r in received} >= {e.event_id for e in meanwhile}
        assert not {r.event_id for r in received} & {e.event_id for e in held}
        wait_for(drained(store), 30, "the committed backlog to drain")
        assert long_tx.in_transaction()
        transaction.commit()

    after = [user_event(topic, new_user, 2), user_event(topic, existing_user, 5, last=True)]
    for event in after:
        insert_events(store, [event])
    everything = [*before, *held, *meanwhile, *after]
    received = read_topic(kafka_bootstrap, topic, {e.event_id for e in everything})
    # the held rows arrive although rows with higher seqs were delivered long before
    assert_order_and_nothing_lost(received, everything)
    wait_for(drained(store), 30, "the outbox to drain")
    status = store.status(parked_limit=0)
    if capture == "poll":
        assert status.sent == len(everything)  # marked sent, kept for the retention
    else:
        assert (status.sent, status.backlog, status.parked_count) == (0, 0, 0)  # removed once acked


def test_on_sqlite_no_later_writer_commits_ahead_of_an_open_one_and_all_is_delivered_in_order(
    *,
    tmp_path: Path,
    topic: str,
    relays: RelayProcesses,
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    """R7 on SQLite (R18): commit order cannot invert there, because SQLite has one writer.

    A transaction that took its seqs holds the write lock until it ends, so a later change
    cannot commit before it (it waits, here it gives up at once); the relay then delivers
    everything, each user's versions in order.
    """
    url = f"sqlite:///{tmp_path / 'auth.db'}"
    store = open_outbox_store(url)
    store.create_table()
    relays.start(url, **relay_env(kafka_bootstrap, registry_url))
    user, other = uuid.uuid4(), uuid.uuid4()
    held = [user_event(topic, user, 1), user_event(topic, user, 2)]
    later = [user_event(topic, other, 1), user_event(topic, user, 3)]
    impatient = SqliteOutboxStore(create_engine(url, connect_args={"timeout": 0}))
    with store.engine.connect() as long_tx:
        transaction = long_tx.begin()
        write_outbox_events(long_tx, store.table, held)
        with pytest.raises(StoreUnavailableError, match="database is locked"):
            insert_events(impatient, later[:1])
        transaction.commit()
    impatient.engine.dispose()
    insert_events(store, later)

    everything = [*held, *later]
    received = read_topic(kafka_bootstrap, topic, {e.event_id for e in everything})
    assert_order_and_nothing_lost(received, everything)
    assert max(seqs_of(store, held).values()) < min(seqs_of(store, later).values())
    wait_for(drained(store), 30, "the outbox to drain")
    store.engine.dispose()
