"""R1 on PostgreSQL and SQLite (R18): a relay SIGKILLed after the broker acked a batch and
before it marked the rows sent loses nothing; the restarted relay sends that batch again
(duplicates the consumer drops), every user's versions still in order."""

import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from playball_events.outbox.commands import OUTBOX_URL_VARIABLE
from playball_events.outbox.store_factory_sql import open_outbox_store
from support.outbox import insert_events, user_histories

from relay.conftest import RelayProcesses, drained, open_slot, read_topic, wait_for
from relay.test_relay_faults import assert_order_and_nothing_lost, relay_env

pytestmark = [pytest.mark.stack, pytest.mark.slow]

HERE = Path(__file__).resolve().parent


@pytest.fixture(params=["postgres", "postgres-wal", "sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """An outbox database with an empty outbox table, on each backend and capture: its
    URL and the capture (on ``postgres-wal`` the slot exists before any row is written,
    so the rows come from the log, and the crash falls between the ack and the slot's
    advance)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'auth.db'}"
        store = open_outbox_store(url)
        store.create_table()
        store.engine.dispose()
        yield url, "poll"
        return
    url = request.getfixturevalue("outbox_url")
    if request.param == "postgres-wal":
        open_slot(url)
        yield url, "wal"
        return
    yield url, "poll"


def test_a_relay_killed_between_the_ack_and_marking_sent_resends_that_batch_and_loses_nothing(
    *,
    database: tuple[str, str],
    topic: str,
    relays: RelayProcesses,
    kafka_bootstrap: str,
    registry_url: str,
    tmp_path: Path,
) -> None:
    database_url, capture = database
    store = open_outbox_store(database_url)
    written = [e for history in user_histories(topic, users=40, versions=3) for e in history]
    insert_events(store, written)
    env = relay_env(
        kafka_bootstrap,
        registry_url,
        PLAYBALL_RELAY_CAPTURE=capture,
        PLAYBALL_RELAY_BATCH_SIZE=25,
        # the dead relay's claims (and SQLite's one-relay lease) expire soon
        PLAYBALL_RELAY_LEASE_SECONDS=3,
        PLAYBALL_RELAY_DELIVERY_TIMEOUT_MS=2000,
    )
    with (tmp_path / "crashing.log").open("w+b") as log:
        crashing = subprocess.run(
            [sys.executable, str(HERE / "crash_relay.py")],
            # a relay process: as the relay's principal; the URL (a password) not in argv
            env={**relays.environment(**env), OUTBOX_URL_VARIABLE: database_url},
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=120,
            check=False,
        )
        log.seek(0)
        assert crashing.returncode == -signal.SIGKILL, log.read().decode(errors="replace")
    status = store.status(parked_limit=0)
    assert (status.sent, status.backlog) == (0, len(written))  # acked, but nothing marked

    relays.start(database_url, **env)
    wait_for(drained(store), 60, "the restarted relay to drain the outbox")
    received = read_topic(kafka_bootstrap, topic, {e.event_id for e in written})
    assert_order_and_nothing_lost(received, written)
    copies = Counter(r.event_id for r in received)
    resent = [event_id for event_id, n in copies.items() if n > 1]
    assert resent, "the acked batch was not on the topic before the crash"
    assert all(copies[event_id] == 2 for event_id in resent)  # once acked, once resent
    store.engine.dispose()
