"""PostgreSQL restarted under a running relay while events are written (R13).

On a PRIVATE PostgreSQL started here on its own port, never the shared one. The relay
runs as a process; writes go on through the outage (those that fail are not counted, an
uncertain one is settled by retrying the same event id). The relay must survive, resume
by itself, deliver every committed event and keep each user's versions in order.

Also the relay alone cut off from the (shared) database through a TCP proxy while writes
go on directly: its connections die mid-use and new ones are refused, then it comes back.
"""

import uuid
from collections.abc import Callable, Iterator

import pytest
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.outbox.store_sql import SqlOutboxStore
from playball_stack.settings import StackSettings
from sqlalchemy.engine import make_url
from support.private_postgres import PrivatePostgres
from support.private_postgres import private_postgres as start_private_postgres
from support.tcp_proxy import TcpProxy

from relay.conftest import (
    RelayProcesses,
    delivered_at_least,
    drained,
    fresh_outbox,
    open_slot,
    read_topic,
    wait_for,
)
from relay.test_relay_faults import assert_order_and_nothing_lost, relay_env
from relay.writers import ContinuousWriter

pytestmark = [pytest.mark.stack, pytest.mark.slow]

# what the relay logs when the database fails under it (claim, ack, housekeeping, LISTEN)
OUTAGE_SIGNS = (
    "StoreUnavailableError",
    "marking sent failed",
    "acks not recorded",
    "housekeeping skipped",
    "LISTEN connection failed",
)


@pytest.fixture(scope="module")
def private_postgres(stack: StackSettings) -> Iterator[PrivatePostgres]:
    """One private server for the module's restart tests (an initdb and a start cost a few
    CPU-seconds each); they run one after another on one worker (their xdist group), each
    on a database of its own."""
    with start_private_postgres(stack) as server:
        yield server


@pytest.fixture
def private_url(private_postgres: PrivatePostgres) -> Iterator[str]:
    with fresh_outbox(private_postgres.url) as url:
        yield url


@pytest.fixture
def private_store(private_url: str) -> Iterator[SqlOutboxStore]:
    store = open_outbox_store(private_url)
    yield store
    store.engine.dispose()


def relay_saw_outage(relays: RelayProcesses) -> Callable[[], bool]:
    return lambda: any(sign in relays.log(0) for sign in OUTAGE_SIGNS)


@pytest.mark.xdist_group("private-postgres")
@pytest.mark.parametrize(
    ("restart", "capture"), [("fast", "poll"), ("crash", "poll"), ("crash", "wal")]
)
def test_postgres_restarted_under_the_relay_loses_nothing_and_keeps_order(
    *,
    restart: str,
    capture: str,
    private_postgres: PrivatePostgres,
    private_url: str,
    private_store: SqlOutboxStore,
    topic: str,
    relays: RelayProcesses,
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    store = private_store
    if capture == "wal":
        open_slot(private_url)
    relay = relays.start(
        private_url,
        **relay_env(
            kafka_bootstrap,
            registry_url,
            PLAYBALL_RELAY_CAPTURE=capture,
            PLAYBALL_RELAY_BATCH_SIZE=200,
        ),
    )
    writer = ContinuousWriter(store, topic, [uuid.uuid4() for _ in range(40)])
    writer.start()
    try:
        started = delivered_at_least(store, lambda: len(writer.committed), 300)
        wait_for(started, 60, "deliveries to start")
        recovered_before = private_postgres.recoveries()
        if restart == "fast":
            private_postgres.stop()  # open connections terminated, a clean shutdown
        else:
            private_postgres.crash()  # no checkpoint: crash recovery from the WAL
        failed_before = writer.failures
        # down until the relay has met the outage and writes have failed for a while
        wait_for(relay_saw_outage(relays), 30, "the relay to meet the outage")
        wait_for(lambda: writer.failures >= failed_before + 20, 30, "writes to fail")
        assert relay.poll() is None, relays.log(0)
        private_postgres.start()
        # this restart's: the shared server's log holds the earlier tests' too
        assert private_postgres.recoveries() - recovered_before == (restart == "crash")
        committed_before = len(writer.committed)
        wait_for(
            lambda: len(writer.committed) >= committed_before + 400,
            60,
            "writes to commit again after the restart",
        )
    finally:
        writer.stop()

    wait_for(drained(store), 120, "the relay to drain the outbox by itself")
    assert relay.poll() is None, relays.log(0)  # it rode the restart out, never exited
    status = store.status()
    assert status.parked_count == 0
    written = writer.committed
    received = read_topic(kafka_bootstrap, topic, {e.event_id for e in written}, timeout=120)
    assert_order_and_nothing_lost(received, written)
    # and nothing the writer did not commit was delivered: no ghost events
    assert {r.event_id for r in received} <= {e.event_id for e in written}


def test_relay_cut_off_from_postgres_while_writes_go_on_catches_up_and_loses_nothing(
    *,
    store: SqlOutboxStore,
    outbox_url: str,
    topic: str,
    relays: RelayProcesses,
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    direct = make_url(outbox_url)
    proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432)
    proxy.start()
    writer = ContinuousWriter(store, topic, [uuid.uuid4() for _ in range(40)])
    try:
        proxied = direct.set(host="127.0.0.1", port=proxy.port)
        relay = relays.start(
            proxied.render_as_string(hide_password=False),
            **relay_env(kafka_bootstrap, registry_url, PLAYBALL_RELAY_BATCH_SIZE=200),
        )
        writer.start()  # straight to the database: only the relay is cut off
        started = delivered_at_least(store, lambda: len(writer.committed), 300)
        wait_for(started, 60, "deliveries to start")
        proxy.stop()  # the relay's connections die, new ones are refused
        wait_for(relay_saw_outage(relays), 30, "the relay to meet the outage")
        backlog = store.status(parked_limit=0).backlog
        wait_for(
            lambda: store.status(parked_limit=0).backlog >= backlog + 300,
            60,
            "a backlog to build up while the relay is cut off",
        )
        assert relay.poll() is None, relays.log(0)
        proxy.start()  # same port: the database is reachable again
        committed_before = len(writer.committed)
        wait_for(lambda: len(writer.committed) >= committed_before + 400, 60, "more writes")
    finally:
        writer.stop()
        try:
            wait_for(drained(store), 120, "the relay to drain the outbox by itself")
        finally:
            proxy.stop()

    assert relay.poll() is None, relays.log(0)
    assert writer.failures == 0  # the database itself never went away
    written = writer.committed
    received = read_topic(kafka_bootstrap, topic, {e.event_id for e in written}, timeout=120)
    assert_order_and_nothing_lost(received, written)
    assert {r.event_id for r in received} <= {e.event_id for e in written}
