"""Order and loss under concurrency and faults: 3 relays at once, SIGKILL mid-batch,
a poison event parked until `retry`, the registry cut and restored."""

import os
import random
import signal
import threading
import uuid
from urllib.parse import urlsplit

import pytest
from playball_events.outbox.model import NewOutboxEvent
from playball_events.outbox.store_sql import SqlOutboxStore
from sqlalchemy import make_url
from support.outbox import insert_events, user_event
from support.tcp_proxy import TcpProxy
from typer.testing import CliRunner

from relay.conftest import (
    Received,
    RelayProcesses,
    drained,
    first_occurrence_versions,
    open_slot,
    read_topic,
    register_subjects,
    wait_for,
)
from relay.test_relay_delivery import auth_cli

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def write_load(
    store: SqlOutboxStore, topic: str, users: int, versions: int, writers: int = 4
) -> list[NewOutboxEvent]:
    """Each change in its own transaction, from several writer threads; a user's changes
    come from one thread in version order (the user row serializes them in the API), some
    users changing several times within milliseconds."""
    written: list[NewOutboxEvent] = []
    lock = threading.Lock()
    user_ids = [uuid.uuid4() for _ in range(users)]

    def writer(mine: list[uuid.UUID]) -> None:
        rng = random.Random(len(mine))
        pending = dict.fromkeys(mine, 1)
        while pending:
            user = rng.choice(list(pending))
            burst = rng.choice((1, 1, 1, 5))  # a quarter of the picks: 5 changes in a row
            for _ in range(burst):
                version = pending[user]
                event = user_event(topic, user, version, last=version == versions)
                insert_events(store, [event])
                with lock:
                    written.append(event)
                if version == versions:
                    del pending[user]
                    break
                pending[user] = version + 1

    threads = [
        threading.Thread(target=writer, args=(user_ids[i::writers],)) for i in range(writers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return written


def assert_order_and_nothing_lost(received: list[Received], written: list[NewOutboxEvent]) -> None:
    assert {r.event_id for r in received} >= {e.event_id for e in written}
    expected: dict[str, set[int]] = {}
    for event in written:
        expected.setdefault(event.aggregate_id, set()).add(event.aggregate_version)
    order = first_occurrence_versions(received)
    for user, versions in expected.items():
        assert order[user] == sorted(versions), f"user {user}: first occurrences {order[user]}"


def relay_env(kafka_bootstrap: str, registry_url: str, **more: object) -> dict[str, object]:
    return {
        "PLAYBALL_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PLAYBALL_SCHEMA_REGISTRY_URL": registry_url,
        # the faults end within seconds: resume then, not after a backoff of up to 30 s
        "PLAYBALL_RELAY_BACKOFF_MAX_SECONDS": 2,
        **more,
    }


def test_three_relays_at_once_keep_each_users_versions_in_order_and_lose_nothing(
    *,
    store: SqlOutboxStore,
    outbox_url: str,
    topic: str,
    relays: RelayProcesses,
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    env = relay_env(kafka_bootstrap, registry_url, PLAYBALL_RELAY_BATCH_SIZE=50)
    for _ in range(3):
        relays.start(outbox_url, **env)
    # all three claiming before the first event: on a busy machine a relay's start (imports,
    # TLS to the broker) can outlast the whole load, and then only two would have raced
    wait_for(
        lambda: all("started" in relays.log(i) for i in range(3)), 120, "all three relays started"
    )
    # 1,000 events (batches of 50: some 20 claims each): enough for the three to race
    # over the same users, at a fraction of the suite's CPU
    written = write_load(store, topic, users=100, versions=10)
    assert len(written) == 1000
    received = read_topic(kafka_bootstrap, topic, {e.event_id for e in written}, timeout=240)
    assert_order_and_nothing_lost(received, written)
    wait_for(drained(store), 60, "the outbox to drain")
    # all three were running (and claiming) through the whole load
    assert all(proc.poll() is None for proc in relays.procs)


@pytest.mark.parametrize("capture", ["poll", "wal"])
def test_a_relay_killed_mid_batch_then_restarted_loses_nothing(
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
        open_slot(outbox_url)  # the rows below come from the log, not from the table
    written = write_load(store, topic, users=100, versions=10)
    env = relay_env(
        kafka_bootstrap,
        registry_url,
        PLAYBALL_RELAY_CAPTURE=capture,
        PLAYBALL_RELAY_BATCH_SIZE=50,
        PLAYBALL_RELAY_LEASE_SECONDS=3,
        PLAYBALL_RELAY_DELIVERY_TIMEOUT_MS=2000,
    )
    # The victim reaches PostgreSQL through a proxy that holds each answer back 20 ms:
    # unslowed, a relay drains these 1,000 events faster than the test can see a first
    # part sent, and would be killed with nothing left to do.
    direct = make_url(outbox_url)
    slow = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432, delay=0.02)
    slow.start()
    try:
        slowed = direct.set(host="127.0.0.1", port=slow.port)
        victim = relays.start(slowed.render_as_string(hide_password=False), **env)
        # sent rows: marked (polling) or removed (log-based), so out of the backlog either way
        wait_for(
            lambda: store.status(parked_limit=0).backlog <= len(written) - 200,
            60,
            "a first part to be sent",
        )
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(30)
    finally:
        slow.stop()
    assert store.status(parked_limit=0).backlog > 0  # killed with work left
    relays.start(outbox_url, **env)
    wait_for(drained(store), 120, "the restarted relay to drain the outbox")
    received = read_topic(kafka_bootstrap, topic, {e.event_id for e in written})
    assert_order_and_nothing_lost(received, written)


def write_poisoned_history(
    store: SqlOutboxStore, topic: str
) -> tuple[NewOutboxEvent, NewOutboxEvent, NewOutboxEvent, list[NewOutboxEvent]]:
    """One user's registration, its update (the poison while UserUpdated's subject is not
    registered) and its deletion, then another user's two events: (first, poison, the
    event waiting behind it, the other user's), each written in its own transaction."""
    poisoned_user, other_user = uuid.uuid4(), uuid.uuid4()
    first = user_event(topic, poisoned_user, 1)
    poison = user_event(topic, poisoned_user, 2)
    waiting = user_event(topic, poisoned_user, 3, last=True)
    others = [user_event(topic, other_user, 1), user_event(topic, other_user, 2, last=True)]
    for event in (first, poison, waiting, *others):
        insert_events(store, [event])
    return first, poison, waiting, others


def test_a_poison_event_is_parked_others_flow_and_its_user_waits_for_retry(
    *,
    store: SqlOutboxStore,
    outbox_url: str,
    writable_topic: str,
    relays: RelayProcesses,
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    topic = writable_topic
    # UserUpdated's subject is not registered yet: its events cannot get a schema id
    register_subjects(registry_url, topic, only=("UserRegistered", "UserDeleted"))
    first, poison, waiting, others = write_poisoned_history(store, topic)

    relays.start(outbox_url, **relay_env(kafka_bootstrap, registry_url))
    received = read_topic(kafka_bootstrap, topic, {first.event_id, *(e.event_id for e in others)})
    wait_for(lambda: store.status().parked_count == 1, 30, "the poison event to be parked")
    status = store.status()
    assert status.parked[0].event_id == poison.event_id
    assert "not registered" in status.parked[0].reason
    assert status.backlog == 1  # the user's later event waits behind the parked one
    assert waiting.event_id not in {r.event_id for r in received}

    runner = CliRunner()
    env = {"PLAYBALL_AUTH_DATABASE_URL": outbox_url}
    shown = runner.invoke(auth_cli(), ["outbox", "status"], env=env)
    assert str(poison.event_id) in shown.output and "not registered" in shown.output
    register_subjects(registry_url, topic, only=("UserUpdated",))  # the fix
    retried = runner.invoke(auth_cli(), ["outbox", "retry", str(poison.event_id)], env=env)
    assert retried.exit_code == 0, retried.output
    again = runner.invoke(auth_cli(), ["outbox", "retry", str(poison.event_id)], env=env)
    assert again.exit_code == 1  # nothing parked under that id any more

    wait_for(drained(store), 30, "the retried event and its follower to be sent")
    everything = [first, poison, waiting, *others]
    received = read_topic(kafka_bootstrap, topic, {e.event_id for e in everything})
    assert_order_and_nothing_lost(received, everything)


def test_registry_cut_under_write_load_then_restored_drains_the_backlog(
    *,
    store: SqlOutboxStore,
    outbox_url: str,
    topic: str,
    relays: RelayProcesses,
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    parts = urlsplit(registry_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 80)
    proxy.start()
    try:
        proxied = parts._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()
        proxy.stop()  # the registry is "down" before the relay ever reached it
        relays.start(outbox_url, **relay_env(kafka_bootstrap, proxied))
        written = write_load(store, topic, users=50, versions=4)  # writes keep succeeding
        status = store.status(parked_limit=0)
        assert status.backlog == len(written) and status.parked_count == 0
        proxy.start()  # same port: the registry is back
        wait_for(drained(store), 90, "the backlog to drain after the registry returned")
    finally:
        proxy.stop()
    received = read_topic(kafka_bootstrap, topic, {e.event_id for e in written})
    assert_order_and_nothing_lost(received, written)
