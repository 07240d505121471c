"""Fixtures of the relay tests: a fresh database per test, a fresh topic with its
subjects registered, relay processes that are always stopped, a topic reader.

The test process is the stack's admin (it makes topics and reads them back); a relay
process runs as the relay's principal, ``auth-relay``, which may write a test's topic only
while the test holds that topic's ACLs (:func:`support.principals.service_acls_granted`).
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from confluent_kafka import Consumer, TopicPartition
from playball_core.local_stack import KAFKA_RELAY
from playball_core.registry import RegistryClient
from playball_events.kafka_security import kafka_security_from_environment
from playball_events.outbox.capture_wal_sql import WalChangeStream
from playball_events.outbox.commands import OUTBOX_URL_VARIABLE
from playball_events.outbox.ports import OutboxStatus
from playball_events.outbox.relay_settings import default_slot_name
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.outbox.store_sql import SqlOutboxStore
from playball_events.roll_markers import is_control_key
from playball_events.topics_admin_kafka import EnsureReport, TopicsAdmin
from playball_stack.settings import StackSettings
from support.databases import create_database
from support.databases import drop_database as drop_test_database
from support.kafka import client_config
from support.outbox import subjects
from support.principals import principal_environment, service_acls_granted


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def drop_database(url: str, name: str) -> None:
    drop_test_database(_with_database(url, name))


@contextlib.contextmanager
def fresh_outbox(database_url: str) -> Iterator[str]:
    """A fresh Postgres database holding an empty outbox table, dropped afterwards."""
    name = f"playball_relay_t{uuid.uuid4().hex[:10]}"
    create_database(database_url, name)
    url = _with_database(database_url, name)
    store = open_outbox_store(url)
    store.create_table()
    store.engine.dispose()
    try:
        yield url
    finally:
        drop_database(database_url, name)


@pytest.fixture
def outbox_url(database_url: str) -> Iterator[str]:
    with fresh_outbox(database_url) as url:
        yield url


def open_slot(outbox_url: str) -> None:
    """Create the log-based relay's slot now, as its first start would: rows written after
    this come from the log (rows written before a slot exists are the table's to send)."""
    stream = WalChangeStream(outbox_url, slot=default_slot_name(outbox_url))
    stream.open()
    stream.close()


@pytest.fixture
def store(outbox_url: str) -> Iterator[SqlOutboxStore]:
    store = open_outbox_store(outbox_url)
    yield store
    store.engine.dispose()


def register_subjects(registry_url: str, topic: str, only: tuple[str, ...] | None = None) -> None:
    with RegistryClient(registry_url) as registry:
        for subject, cls in subjects(topic).items():
            if only is None or cls.__name__ in only:
                registry.register(subject, json.dumps(cls.avro_schema()))


def ensure_topic(bootstrap: str, topic: str) -> EnsureReport:
    """``topic`` and its .dlq, made by our ensure, as the admin (the test process)."""
    return TopicsAdmin(bootstrap, security=kafka_security_from_environment()).ensure([topic])


@pytest.fixture
def grant_acls() -> Iterator[Callable[[str, str], None]]:
    """``grant(bootstrap, topic)``: the relay's and the consumer's LITERAL ACLs on ``topic``
    (its group named after it) in the cluster at ``bootstrap``, granted by the admin at
    once and revoked when the test ends."""
    with contextlib.ExitStack() as held:

        def grant(bootstrap: str, topic: str) -> None:
            held.enter_context(service_acls_granted(bootstrap, topic, consumer_group=topic))

        yield grant


@pytest.fixture
def writable_topic(
    kafka_bootstrap: str, unique_name: str, grant_acls: Callable[[str, str], None]
) -> str:
    """A fresh topic (made by our ensure) the relay's principal may write for the duration
    of the test; no subject registered."""
    ensure_topic(kafka_bootstrap, unique_name)
    grant_acls(kafka_bootstrap, unique_name)
    return unique_name


@pytest.fixture
def topic(writable_topic: str, registry_url: str) -> str:
    """A fresh writable topic whose three subjects hold the current schemas."""
    register_subjects(registry_url, writable_topic)
    return writable_topic


@dataclass(frozen=True)
class Received:
    key: bytes
    value: bytes
    headers: dict[str, bytes]
    partition: int
    offset: int

    @property
    def event_id(self) -> uuid.UUID:
        return uuid.UUID(self.headers["event_id"].decode())

    @property
    def version(self) -> int:
        return int(self.headers["user_version"])


def _headers(raw: Any) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for name, value in raw or []:
        found[str(name)] = value.encode() if isinstance(value, str) else (value or b"")
    return found


def read_topic(
    bootstrap: str,
    topic: str,
    expected_ids: set[uuid.UUID],
    timeout: float = 120.0,
    start: Mapping[int, int] | None = None,
) -> list[Received]:
    """Every message of ``topic`` (from the ``start`` offsets of its partitions, else from
    the beginning) until all ``expected_ids`` were seen, or time is up."""
    consumer = Consumer(
        client_config(
            bootstrap,
            **{
                "group.id": f"test-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            },
        )
    )
    if start is None:
        consumer.subscribe([topic])
    else:
        consumer.assign([TopicPartition(topic, p, offset) for p, offset in start.items()])
    received: list[Received] = []
    missing = set(expected_ids)
    deadline = time.monotonic() + timeout
    try:
        while missing and time.monotonic() < deadline:
            for message in consumer.consume(1000, 0.5):
                # a relay's roll markers (playball_events.roll_markers) are no events
                if message.error() or is_control_key(message.key()):
                    continue
                item = Received(
                    key=message.key() or b"",
                    value=message.value() or b"",
                    headers=_headers(message.headers()),
                    partition=message.partition() or 0,
                    offset=message.offset() or 0,
                )
                received.append(item)
                missing.discard(item.event_id)
    finally:
        consumer.close()
    return received


def first_occurrence_versions(received: list[Received]) -> dict[str, list[int]]:
    """Per user (key), the versions in the order they first appear on the topic."""
    seen: dict[str, set[int]] = {}
    order: dict[str, list[int]] = {}
    for item in sorted(received, key=lambda r: (r.partition, r.offset)):
        user = item.key.decode()
        if item.version not in seen.setdefault(user, set()):
            seen[user].add(item.version)
            order.setdefault(user, []).append(item.version)
    return order


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def delivered_at_least(
    store: SqlOutboxStore, committed: Callable[[], int], count: int
) -> Callable[[], bool]:
    """Whether ``count`` rows of the ``committed()`` so far left the backlog: sent, whether
    marked (the polling relay) or removed (the log-based relay), and not parked. The
    committed count is read before the table, so it never counts a row not yet written."""

    def check() -> bool:
        written = committed()
        status = store.status(parked_limit=0)
        return written - status.backlog - status.parked_count >= count

    return check


def drained(store: SqlOutboxStore) -> Callable[[], bool]:
    def check() -> bool:
        status: OutboxStatus = store.status(parked_limit=0)
        return status.backlog == 0

    return check


class RelayProcesses:
    """Relay processes (``python -m playball_events.outbox relay``), always stopped.

    Each runs as the relay's principal (``auth-relay``), not as the test process's admin.
    """

    def __init__(self, tmp: Path, settings: StackSettings) -> None:
        self.tmp = tmp
        self.settings = settings
        self.procs: list[subprocess.Popen[bytes]] = []

    def environment(self, **env: Any) -> dict[str, str]:
        """A relay process's variables: the test's, connecting to Kafka as ``auth-relay``
        (the admin's variables it inherits overridden), then ``env``."""
        return {
            **os.environ,
            # read at start: the stack's credentials exist once a Kafka fixture brought it up
            **principal_environment(self.settings, KAFKA_RELAY),
            "PLAYBALL_RELAY_METRICS_PORT": "0",
            "PLAYBALL_RELAY_POLL_INTERVAL": "0.2",
            # the polling relay unless a test asks for the log-based one (test_relay_wal.py)
            "PLAYBALL_RELAY_CAPTURE": "poll",
            **{k: str(v) for k, v in env.items()},
        }

    def start(self, database_url: str, **env: Any) -> subprocess.Popen[bytes]:
        # the URL holds a password: in the environment, not on a command line
        environment = {**self.environment(**env), OUTBOX_URL_VARIABLE: database_url}
        with (self.tmp / f"relay-{len(self.procs)}.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "playball_events.outbox", "relay"],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as a whole
            )
        self.procs.append(proc)
        return proc

    def log(self, index: int) -> str:
        return (self.tmp / f"relay-{index}.log").read_text(errors="replace")

    @staticmethod
    def terminate(proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        return proc.wait(timeout)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)


@pytest.fixture
def relays(tmp_path: Path, settings: StackSettings) -> Iterator[RelayProcesses]:
    processes = RelayProcesses(tmp_path, settings)
    try:
        yield processes
    finally:
        processes.stop_all()
