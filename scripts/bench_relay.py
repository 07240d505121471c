"""Outbox relay throughput and latency on the running stack, with its baselines, in one run.

Run: uv run python scripts/bench_relay.py [--events 50000] [--users 10000] [--naive 2000]

Uses the stack's Postgres (a scratch database, dropped at the end), Kafka (a scratch topic
made by our topics ensure, deleted at the end) and registry (the topic's subjects).

1. Throughput: a backlog of --events rows over --users users (UserRegistered then
   UserUpdated...), drained by one in-process OutboxRelay to acked Kafka messages, next to
   (a) the raw producer ceiling: the same messages pre-serialized, same producer settings;
   (b) the naive relay: per event, lock the oldest row, publish it, wait for its ack
       (linger.ms=0), mark it sent, commit; measured on --naive events.
2. Latency at a steady --rate events/s for --seconds: from the moment the insert's commit
   returns (one event per transaction, NOTIFY included, as the auth writer does) to its
   arrival at a consumer of the topic; the relay runs as its own process.
3. LISTEN/NOTIFY's commit cost: --threads concurrent writers committing one-row
   transactions with and without ``pg_notify`` in them.
"""

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from playball_core.manifest import dead_letter_topic, topic_record_subject
from playball_events.contracts import UserRegistered, UserUpdated
from playball_events.gc_tuning import tune_for_service
from playball_events.kafka_errors_kafka import secured_config
from playball_events.kafka_security import KafkaSecurity, kafka_security
from playball_events.outbox.model import OUTBOX_CHANNEL, NewOutboxEvent, schema_fingerprint
from playball_events.outbox.ports import EventPublisher, OutboxEvent, OutgoingMessage
from playball_events.outbox.producer_kafka import KafkaEventPublisher, producer_config
from playball_events.outbox.relay import OutboxRelay, RelayConfig
from playball_events.outbox.schema_ids import SchemaHeaders
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.outbox.store_sql import SqlOutboxStore
from playball_events.outbox.wakeup import PollWakeup
from playball_events.outbox.writer_sql import write_outbox_events
from playball_events.serde import header
from playball_events.settings import RuntimeSettings
from playball_events.topics_admin_kafka import TopicsAdmin


def full_name(cls: type[Any]) -> str:
    schema = cls.avro_schema()
    return f"{schema['namespace']}.{schema['name']}"


def secured(settings: RuntimeSettings, config: dict[str, Any]) -> dict[str, Any]:
    """A raw client's ``config`` with the brokers' security from the settings."""
    return secured_config(config, kafka_security(settings))


def event(topic: str, user: uuid.UUID, version: int) -> NewOutboxEvent:
    now = dt.datetime.now(dt.UTC)
    cls: type[Any] = UserRegistered if version == 1 else UserUpdated
    record = cls(
        event_id=uuid.uuid4(),
        occurred_at=now,
        user_id=user,
        user_version=version,
        username=f"user{user.hex[:10]}",
        display_name=f"User number {version}",
    )
    return NewOutboxEvent(
        event_id=record.event_id,
        aggregate_id=str(user),
        aggregate_version=version,
        record_type=full_name(cls),
        topic=topic,
        subject=topic_record_subject(topic, full_name(cls)),
        payload=record.to_avro_bytes(),
        schema_fingerprint=schema_fingerprint(cls.avro_schema()),
        created_at=now,
    )


def backlog(topic: str, events: int, users: int) -> list[NewOutboxEvent]:
    ids = [uuid.uuid4() for _ in range(users)]
    per_user = events // users
    return [event(topic, user, v) for v in range(1, per_user + 1) for user in ids]


def insert(store: SqlOutboxStore, rows: Sequence[NewOutboxEvent]) -> None:
    """``rows`` in one transaction, as the auth writer writes them (no trace headers)."""
    with store.engine.begin() as conn:
        write_outbox_events(conn, store.table, rows, headers=dict)


def conninfo(url: str, database: str = "") -> dict[str, Any]:
    parts = urlsplit(url)
    return {
        "host": parts.hostname,
        "port": parts.port,
        "user": parts.username,
        "password": parts.password,
        "dbname": database or parts.path.lstrip("/"),
    }


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    name = f"playball_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**conninfo(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(**conninfo(server_url, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_topic(settings: RuntimeSettings) -> Iterator[str]:
    topic = f"bench.relay.{uuid.uuid4().hex[:8]}"
    TopicsAdmin(settings.kafka_bootstrap, security=kafka_security(settings)).ensure([topic])
    with settings.registry_client() as registry:
        for cls in (UserRegistered, UserUpdated):
            subject = topic_record_subject(topic, full_name(cls))
            registry.register(subject, json.dumps(cls.avro_schema()))
    try:
        yield topic
    finally:
        admin = AdminClient(secured(settings, {"bootstrap.servers": settings.kafka_bootstrap}))
        for future in admin.delete_topics([topic, dead_letter_topic(topic)]).values():
            future.result(30)


def warm_up(publisher: EventPublisher, topic: str) -> None:
    """Connect and fetch the topic's metadata before timing: a one-off cost, not a rate."""
    publisher.send([OutgoingMessage(topic, b"warm-up", b"")]).wait()


def analyze(url: str) -> None:
    """Statistics, as autovacuum would gather for a table that grew this much: without them
    the planner does not know the backlog is large and sorts it instead of walking the
    pending-rows index."""
    with psycopg.connect(**conninfo(url), autocommit=True) as conn:
        conn.execute("ANALYZE outbox")


def relay_throughput(
    settings: RuntimeSettings, store: SqlOutboxStore, topic: str, batch: int
) -> tuple[float, int]:
    relay = OutboxRelay(
        store,
        KafkaEventPublisher(settings.kafka_bootstrap, security=kafka_security(settings)),
        SchemaHeaders(settings.registry_client()),
        PollWakeup(),
        relay_id="bench",
        config=RelayConfig(batch_size=batch),
    )
    warm_up(relay.publisher, topic)
    started = time.perf_counter()
    delivered = 0
    while claimed := relay.run_once():
        delivered += claimed
    elapsed = time.perf_counter() - started
    relay.publisher.close()
    return delivered / elapsed, delivered


def raw_ceiling(settings: RuntimeSettings, topic: str, rows: list[NewOutboxEvent]) -> float:
    prefix = {}
    with settings.registry_client() as registry:
        for cls in (UserRegistered, UserUpdated):
            found = registry.lookup(
                topic_record_subject(topic, full_name(cls)), json.dumps(cls.avro_schema())
            )
            assert found is not None
            prefix[full_name(cls)] = header(found.id)
    messages: list[tuple[bytes, bytes, list[tuple[str, str | bytes | None]]]] = [
        (
            e.aggregate_id.encode(),
            prefix[e.record_type] + e.payload,
            [
                ("event_id", str(e.event_id).encode()),
                ("event_type", e.record_type.encode()),
                ("user_version", str(e.aggregate_version).encode()),
            ],
        )
        for e in rows
    ]
    producer = Producer(secured(settings, producer_config(settings.kafka_bootstrap)))
    acked = 0

    def report(error: Any, _message: Any) -> None:
        nonlocal acked
        acked += error is None

    producer.produce(topic, value=b"", key=b"warm-up")
    producer.flush(30)
    started = time.perf_counter()
    for key, value, headers in messages:
        while True:
            try:
                producer.produce(topic, value=value, key=key, headers=headers, on_delivery=report)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(60)
    elapsed = time.perf_counter() - started
    assert acked == len(messages)
    return len(messages) / elapsed


def naive_relay(settings: RuntimeSettings, url: str, topic: str, count: int) -> float:
    """One row at a time, the transaction open across the publish, waiting for each ack."""
    with settings.registry_client() as registry:
        headers = SchemaHeaders(registry)
        producer = Producer(
            secured(settings, producer_config(settings.kafka_bootstrap, linger_ms=0))
        )
        with psycopg.connect(**conninfo(url)) as conn:
            started = time.perf_counter()
            for _ in range(count):
                row = conn.execute(
                    "SELECT seq, event_id, aggregate_id, aggregate_version, record_type, topic,"
                    " subject, payload, schema_fingerprint FROM outbox WHERE state = 'pending'"
                    " ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED"
                ).fetchone()
                assert row is not None
                seq, event_id, user, version, record_type, _topic, subject, payload, fp = row
                probe = NewOutboxEvent(
                    event_id, user, version, record_type, topic, subject, payload, fp,
                    dt.datetime.now(dt.UTC),
                )  # fmt: skip
                value = headers.header(probe_event(probe, seq)) + payload
                producer.produce(topic, value=value, key=user.encode())
                assert producer.flush(30) == 0
                conn.execute(
                    "UPDATE outbox SET state = 'sent', sent_at = now() WHERE seq = %s", (seq,)
                )
                conn.commit()
            elapsed = time.perf_counter() - started
    return count / elapsed


def probe_event(e: NewOutboxEvent, seq: int) -> OutboxEvent:
    return OutboxEvent(
        seq, e.event_id, e.aggregate_id, e.aggregate_version, e.record_type, e.topic,
        e.subject, e.payload, e.schema_fingerprint, {}, e.created_at, 0,
    )  # fmt: skip


class Arrivals:
    """A consumer thread noting when each event id arrives."""

    def __init__(self, bootstrap: str, topic: str, security: KafkaSecurity) -> None:
        self.security = security
        self.at: dict[str, float] = {}
        self.ready = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(bootstrap, topic))
        self._thread.start()

    def _run(self, bootstrap: str, topic: str) -> None:
        consumer = Consumer(
            secured_config(
                {
                    "bootstrap.servers": bootstrap,
                    "group.id": f"bench-{uuid.uuid4().hex}",
                    "auto.offset.reset": "latest",
                    "enable.auto.commit": False,
                    "fetch.wait.max.ms": 5,
                },
                self.security,
            )
        )
        consumer.subscribe([topic], on_assign=lambda *_: self.ready.set())
        while not self._done.is_set():
            message = consumer.poll(0.05)  # returns on the first message: no batching delay
            if message is not None and message.error() is None:
                now = time.perf_counter()
                headers: Any = message.headers() or []
                for name, value in headers:
                    if name == "event_id":
                        self.at[value.decode()] = now
        consumer.close()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def start_relay_process(settings: RuntimeSettings, url: str) -> "subprocess.Popen[bytes]":
    env = {
        **os.environ,
        "PLAYBALL_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "PLAYBALL_SCHEMA_REGISTRY_URL": settings.schema_registry_url,
        "PLAYBALL_RELAY_METRICS_PORT": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "playball_events.outbox", "relay", "--database-url", url],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def steady_writes(
    store: SqlOutboxStore, topic: str, rate: float, seconds: float
) -> dict[str, float]:
    """One event per transaction at ``rate``/s; when each insert's commit returned."""
    commits: dict[str, float] = {}
    interval = 1.0 / rate
    start = time.perf_counter()
    n = 0
    versions: dict[uuid.UUID, int] = {}
    users = [uuid.uuid4() for _ in range(200)]
    while (now := time.perf_counter()) < start + seconds:
        target = start + n * interval
        if now < target:
            time.sleep(target - now)
        user = users[n % len(users)]
        version = versions[user] = versions.get(user, 0) + 1
        row = event(topic, user, version)
        insert(store, [row])  # one transaction; the table's trigger notifies
        commits[str(row.event_id)] = time.perf_counter()
        n += 1
    return commits


def latency(
    settings: RuntimeSettings, url: str, topic: str, rate: float, seconds: float
) -> tuple[float, float, float, int]:
    store = open_outbox_store(url)
    arrivals = Arrivals(settings.kafka_bootstrap, topic, kafka_security(settings))
    relay = start_relay_process(settings, url)
    try:
        arrivals.ready.wait(30)
        # Warm-up: events through the whole path until one arrives, so the relay process
        # is up (imports, LISTEN, producer connected) and the consumer fetching.
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline:
            probe = event(topic, uuid.uuid4(), 1)
            insert(store, [probe])
            time.sleep(0.2)
            if str(probe.event_id) in arrivals.at:
                break
        commits = steady_writes(store, topic, rate, seconds)
        deadline = time.perf_counter() + 30
        while arrivals.at.keys() & commits.keys() != commits.keys():
            if time.perf_counter() > deadline:
                break
            time.sleep(0.05)
    finally:
        os.killpg(relay.pid, signal.SIGTERM)
        relay.wait(60)
        arrivals.stop()
        store.engine.dispose()
    lat = sorted((arrivals.at[k] - commits[k]) * 1000 for k in commits if k in arrivals.at)
    missing = len(commits) - len(lat)
    assert missing == 0, f"{missing} events did not arrive"
    return (
        statistics.median(lat),
        lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        len(commits) / seconds,
        len(lat),
    )


def notify_cost(url: str, threads: int, seconds: float) -> dict[bool, tuple[float, float, float]]:
    """tx/s, mean and p99 commit latency (ms) of one-row inserts, with and without NOTIFY."""
    with psycopg.connect(**conninfo(url), autocommit=True) as conn:
        conn.execute("CREATE TABLE notify_bench (id bigserial primary key, body text)")
    results: dict[bool, tuple[float, float, float]] = {}
    for notify in (False, True):
        latencies: list[float] = []
        lock = threading.Lock()
        stop = time.perf_counter() + seconds

        def work(
            notify: bool = notify,
            stop: float = stop,
            latencies: list[float] = latencies,
            lock: threading.Lock = lock,
        ) -> None:
            mine: list[float] = []
            with psycopg.connect(**conninfo(url)) as conn:
                while time.perf_counter() < stop:
                    t0 = time.perf_counter()
                    conn.execute("INSERT INTO notify_bench (body) VALUES ('x')")
                    if notify:
                        conn.execute("SELECT pg_notify(%s, '')", (OUTBOX_CHANNEL,))
                    conn.commit()
                    mine.append((time.perf_counter() - t0) * 1000)
            with lock:
                latencies.extend(mine)

        # A listener, as the relay has: NOTIFY's commit-time work only happens with one.
        with psycopg.connect(**conninfo(url), autocommit=True) as listener:
            listener.execute(f"LISTEN {OUTBOX_CHANNEL}")
            workers = [threading.Thread(target=work) for _ in range(threads)]
            for worker in workers:
                worker.start()
            while any(w.is_alive() for w in workers):
                for _ in listener.notifies(timeout=0.2):
                    pass
            for worker in workers:
                worker.join()
        latencies.sort()
        results[notify] = (
            len(latencies) / seconds,
            statistics.fmean(latencies),
            latencies[int(len(latencies) * 0.99)],
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument(
        "--batch",
        type=int,
        default=RelayConfig().batch_size,
        help="events per claim (default: the relay's, PLAYBALL_RELAY_BATCH_SIZE)",
    )
    parser.add_argument("--naive", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--notify-seconds", type=float, default=5.0)
    args = parser.parse_args()
    settings = RuntimeSettings()

    with scratch_database(settings.database_url) as url, scratch_topic(settings) as topic:
        store = open_outbox_store(url)
        store.create_table()
        rows = backlog(topic, args.events, args.users)
        for start in range(0, len(rows), 5000):
            insert(store, rows[start : start + 5000])
        analyze(url)
        # As the relay process does after start-up; here it also freezes the backlog this
        # process holds for (a), which the relay process never has in memory.
        tune_for_service()
        print(f"backlog: {len(rows)} events over {args.users} users in a fresh Postgres database")

        relay_store = open_outbox_store(url, for_relay=True)  # the engine the relay process uses
        relay_rate, delivered = relay_throughput(settings, relay_store, topic, args.batch)
        relay_store.engine.dispose()
        assert delivered == len(rows), (delivered, len(rows))
        raw_rate = raw_ceiling(settings, topic, rows)
        # the naive relay drains a fresh backlog of its own
        insert(store, backlog(topic, args.naive, args.naive))
        naive_rate = naive_relay(settings, url, topic, args.naive)
        store.engine.dispose()

        print("\n1. throughput (events/s, to acked Kafka messages)")
        print(f"   relay, batch {args.batch:<6}        {relay_rate:>10,.0f}   target >= 20,000")
        print(f"   (a) raw producer ceiling   {raw_rate:>10,.0f}")
        print(f"   (b) naive relay            {naive_rate:>10,.0f}   ({args.naive} events)")
        print(f"   relay / (a)                {relay_rate / raw_rate:>10.2f}   aim >= 0.3")
        print(f"   relay / (b)                {relay_rate / naive_rate:>10.1f}   target >= 10")

    with scratch_database(settings.database_url) as url, scratch_topic(settings) as topic:
        store = open_outbox_store(url)
        store.create_table()
        store.engine.dispose()
        p50, p99, achieved, count = latency(settings, url, topic, args.rate, args.seconds)
        print(f"\n2. latency, commit returned -> consumer, at {achieved:.0f} events/s ({count})")
        print(f"   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   target p99 <= 25 ms")

        costs = notify_cost(url, args.threads, args.notify_seconds)
        print(f"\n3. NOTIFY commit cost, {args.threads} concurrent writers, one-row transactions")
        for notify, (tps, mean, p99c) in costs.items():
            label = "with pg_notify   " if notify else "without pg_notify"
            print(f"   {label}  {tps:8,.0f} tx/s   mean {mean:5.2f} ms   p99 {p99c:5.2f} ms")
        ratio = costs[True][0] / costs[False][0]
        print(f"   throughput with / without  {ratio:.2f}")


if __name__ == "__main__":
    main()
