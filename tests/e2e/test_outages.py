"""The broker or the registry down under API write load: the API keeps answering,
nothing is lost.

The auth API and its relay run as processes. For the broker, against a PRIVATE
one-broker Kafka (the shared one serves other tests); for the registry, through a TCP
proxy the test cuts. Users are written through the API during the outage; every request
must succeed, the outbox backlog grows, and once the dependency is back every committed
event reaches the topic, each user's versions first appearing in increasing order.
"""

import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_events.outbox.ports import OutboxEvent
from playball_orchestration.probe import gauge
from playball_stack.settings import StackSettings
from playball_stack.stack import Stack
from relay.conftest import Received, first_occurrence_versions, read_topic
from support.kafka import high_watermarks
from support.outbox_log import committed_outbox_events
from support.private_kafka import running_cluster
from support.system import running_system
from support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.stack, pytest.mark.slow]

USERS = 10
RENAMES_DURING_OUTAGE = 150
# the relay resumes within 2 s of a dependency's return, not after a backoff of up to 30 s
RESUME_SOON = {"PLAYBALL_RELAY_BACKOFF_MAX_SECONDS": "2"}


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def register(client: httpx.Client, auth: str, n: int) -> dict[str, str]:
    name, password = f"outage{n}-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    body = {"username": name, "email": f"{name}@example.org", "password": password}
    created = client.post(f"{auth}/users", json={**body, "display_name": f"P{n}"})
    assert created.status_code == 201, created.text
    # renames go to auth's /users/me, which takes account-scope tokens only
    token = client.post(
        f"{auth}/token", data={"username": name, "password": password, "scope": "account"}
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def as_committed(events: list[OutboxEvent]) -> list[tuple[uuid.UUID, str, int]]:
    return [(e.event_id, e.aggregate_id, e.aggregate_version) for e in events]


@pytest.mark.xdist_group("outage-kafka")
def test_api_writes_succeed_with_the_broker_down_and_the_backlog_drains_after(
    stack: StackSettings, outage_kafka: Stack, tmp_path: Path
) -> None:
    # the session's private single broker (tests/conftest.py: ``outage_kafka``), shared
    # with the relay's broker outage test, one at a time
    kafka = running_cluster(outage_kafka)
    # the private broker as the stack's own Kafka, not an external one: the relay runs
    # as its principal (auth-relay), whose password the private broker shares
    settings = stack.model_copy(
        update={"kafka_bootstrap": None, "kafka_port": kafka.settings.kafka_port}
    )
    assert settings.effective_kafka_bootstrap == kafka.kafka_bootstrap
    quick_retries = {
        "PLAYBALL_RELAY_DELIVERY_TIMEOUT_MS": "3000",
        "PLAYBALL_RELAY_LEASE_SECONDS": "10",
        **RESUME_SOON,
    }
    with (
        running_system(
            settings, tmp_path / "system", ("auth-api", "auth-relay"), quick_retries
        ) as system,
        httpx.Client(timeout=30) as client,
        ExitStack() as held,
    ):
        metrics = system.specs["auth-relay"].address
        start = high_watermarks(kafka.kafka_bootstrap, PLAYBALL_AUTH_USER_EVENTS_V1.name)
        # what is committed, from the log: the log-based relay deletes the rows it sent
        log = held.enter_context(committed_outbox_events(system.auth_database_url))

        def backlog() -> float:
            return gauge(metrics, "playball_outbox_backlog") or 0.0

        users = [register(client, system.auth_url, n) for n in range(USERS)]
        wait_for(lambda: backlog() == 0, 60, "the registrations to be delivered")

        kafka.kafka_nodes[0].stop()
        for n in range(RENAMES_DURING_OUTAGE):
            answer = client.patch(
                f"{system.auth_url}/users/me",
                json={"display_name": f"renamed {n}"},
                headers=users[n % USERS],
            )
            assert answer.status_code == 200, answer.text  # the API never waits on Kafka
        wait_for(lambda: backlog() >= RENAMES_DURING_OUTAGE, 60, "the backlog to show")

        kafka.up(timeout=180)
        wait_for(lambda: backlog() == 0, 180, "the backlog to drain")

        committed = as_committed(log())
        assert len(committed) == USERS + RENAMES_DURING_OUTAGE
        assert_all_arrived_in_order(kafka.kafka_bootstrap, committed, start)


def assert_all_arrived_in_order(
    bootstrap: str, committed: list[tuple[uuid.UUID, str, int]], start: dict[int, int]
) -> None:
    ids = {event_id for event_id, _, _ in committed}
    topic = PLAYBALL_AUTH_USER_EVENTS_V1.name
    received = read_topic(bootstrap, topic, ids, timeout=120, start=start)
    ours: list[Received] = [r for r in received if r.event_id in ids]
    assert {r.event_id for r in ours} == ids
    expected: dict[str, list[int]] = {}
    for _, user, version in sorted(committed, key=lambda c: c[2]):
        expected.setdefault(user, []).append(version)
    assert first_occurrence_versions(ours) == expected


def test_api_writes_succeed_with_the_registry_down_and_the_backlog_drains_after(
    stack: StackSettings, tmp_path: Path
) -> None:
    registry = urlsplit(stack.effective_registry_url)
    proxy = TcpProxy(registry.hostname or "127.0.0.1", registry.port or 80)
    proxy.start()
    proxied = registry._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()
    proxy.stop()  # down before the relay ever looked a schema id up
    settings = stack.model_copy(update={"schema_registry_url": proxied})
    try:
        with (
            running_system(
                settings,
                tmp_path / "system",
                ("auth-api", "auth-relay"),
                RESUME_SOON,
            ) as system,
            httpx.Client(timeout=30) as client,
            ExitStack() as held,
        ):
            metrics = system.specs["auth-relay"].address
            bootstrap = stack.effective_kafka_bootstrap
            start = high_watermarks(bootstrap, PLAYBALL_AUTH_USER_EVENTS_V1.name)
            log = held.enter_context(committed_outbox_events(system.auth_database_url))

            def backlog() -> float:
                return gauge(metrics, "playball_outbox_backlog") or 0.0

            for n in range(USERS):  # each a registration, a login and the event to send
                register(client, system.auth_url, n)
            wait_for(lambda: backlog() >= USERS, 60, "the backlog to show")
            proxy.start()  # same port: the registry is back
            wait_for(lambda: backlog() == 0, 120, "the backlog to drain")
            committed = as_committed(log())
            assert len(committed) == USERS
            assert_all_arrived_in_order(bootstrap, committed, start)
    finally:
        proxy.stop()
