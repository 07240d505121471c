"""Database errors the relay rides out rather than dies of (beside R13's restarts).

The store turns an operational database error into ``StoreUnavailableError``, which the
relay answers with a backoff. The claim runs on the driver's own cursor (for speed), past
SQLAlchemy's error wrapping, so it must translate them itself: a claim killed with its
connection, or cancelled by a ``statement_timeout`` an operator set on the database, must
not end the relay process.
"""

import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from playball_events.outbox.ports import StoreUnavailableError
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.outbox.store_sql import SqlOutboxStore
from playball_events.outbox.wakeup_sql import libpq_url
from psycopg import sql
from support.network import call_on_silent_server
from support.outbox import insert_events, user_event

from relay.conftest import RelayProcesses, drained, read_topic, wait_for
from relay.test_relay_faults import assert_order_and_nothing_lost, relay_env

pytestmark = pytest.mark.stack

LEASE = dt.timedelta(seconds=30)


@contextmanager
def table_locked(url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """The outbox locked against every reader and writer until the block ends."""
    with psycopg.connect(libpq_url(url)) as locker:
        locker.execute("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE")
        yield locker
        locker.rollback()


def set_statement_timeout(url: str, milliseconds: int) -> None:
    """As an operator would, on the (test's own) database: new sessions get it."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(libpq_url(url), autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} SET statement_timeout = {}").format(
                sql.Identifier(name), sql.Literal(milliseconds)
            )
        )


def waiting_on_a_lock(admin: psycopg.Connection[tuple[object, ...]], database: str) -> list[int]:
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
        (database,),
    ).fetchall()
    return [int(str(pid)) for (pid,) in rows]


def test_a_claim_whose_connection_is_killed_mid_statement_reports_the_store_unavailable(
    store: SqlOutboxStore, outbox_url: str
) -> None:
    insert_events(store, [user_event("t", uuid.uuid4(), 1)])
    database = outbox_url.rsplit("/", 1)[1]
    outcome: list[BaseException | int] = []

    def claim() -> None:
        try:
            outcome.append(len(store.claim_batch("r1", 10, LEASE)))
        except BaseException as exc:  # handed to the test's thread to judge
            outcome.append(exc)

    with (
        table_locked(outbox_url),
        psycopg.connect(libpq_url(outbox_url), autocommit=True) as admin,
    ):
        claimer = threading.Thread(target=claim)
        claimer.start()
        deadline = time.monotonic() + 30
        while not (blocked := waiting_on_a_lock(admin, database)):
            assert time.monotonic() < deadline, "the claim never blocked on the lock"
            time.sleep(0.05)
        admin.execute("SELECT pg_terminate_backend(%s)", (blocked[0],))
        claimer.join(30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], StoreUnavailableError), repr(outcome[0])
    # the store reconnects by itself: the row is still there to claim
    assert len(store.claim_batch("r1", 10, LEASE)) == 1


def test_a_claim_cancelled_by_a_statement_timeout_reports_the_store_unavailable(
    store: SqlOutboxStore, outbox_url: str
) -> None:
    insert_events(store, [user_event("t", uuid.uuid4(), 1)])
    store.engine.dispose()  # new connections pick the database's setting up
    set_statement_timeout(outbox_url, milliseconds=300)
    with table_locked(outbox_url), pytest.raises(StoreUnavailableError, match="timeout"):
        store.claim_batch("r1", 10, LEASE)
    assert len(store.claim_batch("r1", 10, LEASE)) == 1


def test_the_relay_process_rides_out_claims_cancelled_by_a_statement_timeout(
    *,
    store: SqlOutboxStore,
    outbox_url: str,
    topic: str,
    relays: RelayProcesses,
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    users = [uuid.uuid4() for _ in range(5)]
    first = [user_event(topic, user, 1) for user in users]
    insert_events(store, first)
    set_statement_timeout(outbox_url, milliseconds=300)
    with table_locked(outbox_url):
        relay = relays.start(outbox_url, **relay_env(kafka_bootstrap, registry_url))
        # two rounds cancelled and backed off from (or the process gone: checked next)
        cancelled = "canceling statement due to statement timeout; next try in"
        wait_for(
            lambda: relays.log(0).count(cancelled) >= 2 or relay.poll() is not None,
            60,
            "claims to be cancelled",
        )
        assert relay.poll() is None, relays.log(0)
    later = [user_event(topic, user, 2, last=True) for user in users]
    insert_events(store, later)
    wait_for(drained(store), 60, "the relay to deliver once the lock is gone")
    assert relay.poll() is None, relays.log(0)
    everything = first + later
    received = read_topic(kafka_bootstrap, topic, {e.event_id for e in everything})
    assert_order_and_nothing_lost(received, everything)


@pytest.mark.slow
def test_a_database_that_never_answers_is_an_outage_not_a_hang() -> None:
    """libpq's default waits for ever for the server's first answer; the relay's engine
    gives up after its connect timeout (10 s), so the relay backs off and retries."""
    stores: list[SqlOutboxStore] = []

    def claim(port: int) -> None:
        stores.append(
            open_outbox_store(f"postgresql+psycopg://relay@127.0.0.1:{port}/outbox", for_relay=True)
        )
        stores[0].claim_batch("relay-1", 10, LEASE)

    raised = call_on_silent_server(claim)
    stores[0].engine.dispose()
    assert isinstance(raised, StoreUnavailableError), raised
