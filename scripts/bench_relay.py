"""Outbox relay throughput and latency, secured beside PLAINTEXT, with baselines, in one run.

Run: UV_NO_SYNC=1 python3 -m uv run python scripts/bench_relay.py [--events 50000]
     [--users 10000] [--naive 2000] [--repeats 3] [--seconds 10]
     [--throughput-only | --latency-only]

``--throughput-only`` measures section 1 alone, ``--latency-only`` section 2 alone, for a
quicker run.

Every Kafka figure is measured twice (see scripts/bench_support.py), median of --repeats:
on the secured stack's broker (SASL_SSL, SCRAM-SHA-512, authorizer), the relay and its
baseline producers as ``auth-relay`` and the latency consumer as ``groups-consumer``, with
ACLs on the scratch topic granted by ``playball-admin`` and revoked at the end; and on a
private PLAINTEXT broker the script starts (same heap and JIT as the stack's), killed at
the end. Both share the stack's registry (the topic's subjects) and PostgreSQL (a scratch
database, dropped at the end); the scratch topic has the same name on both.

1. Throughput: a backlog of --events rows over --users users (UserRegistered then
   UserUpdated...), drained by one in-process OutboxRelay (the polling relay) running its
   own loop (``run``, housekeeping included), timed from its start to the last row marked
   sent, next to
   (w) the log-based relay: the same backlog, inserted after its replication slot was
       created (so every row comes from the log, none from the table), drained by one
       in-process WalOutboxRelay composed as ``playball auth relay --capture wal`` composes
       it, with the polling relay's producer settings; timed the
       same way, from its start (opening the stream included) to the last batch acked and
       its rows removed; the slot is dropped after each drain and created anew before
       each refill. It reads whole transactions, so its batches are the refill's
       transactions (5,000 events) whatever --batch says;
   (a) the raw producer ceiling: the same messages pre-serialized, same producer settings;
   (b) the naive relay: per event, lock the oldest row, publish it, wait for its ack
       (linger.ms=0), mark it sent, commit; measured on --naive events.
   Each round refills the outbox (TRUNCATE, insert 5,000 rows a transaction, ANALYZE)
   before each drain and alternates which broker goes first, after --warmup unmeasured
   rounds on each (the private broker starts with a cold JIT). Targets: the secured relay
   >= 20,000 events/s and >= 0.8x the PLAINTEXT relay; the log-based relay >= 1.5x the
   polling relay (must) and >= 0.3x the raw producer (aim). When the aim is missed, the
   CPU of the log-based drains is broken down (median of the rounds): the relay's main
   thread (``time.thread_time``) inside WalChangeStream.read (framing and decoding),
   inside the publisher's send and delivery wait (produce), inside its start-up and
   housekeeping (opening the stream, the slot's status, cleanup), and the rest, each
   beside the wall time it took; the relay's side thread inside the per-batch check of
   what the stream read (the stream verdicts), the outbox's status for the gauges and,
   at the start, releasing claims and finding held users; its recorder thread inside the
   removal of acked rows; the process's other threads (librdkafka's); the PostgreSQL
   walsender streaming the slot and the backends of the relay's SQL (from
   /proc/<pid>/stat, so only with PostgreSQL on this machine); and the whole machine's
   busy CPU over the drain.
   The scratch database is dropped at the end with any slot left on it, whatever happens.
2. Latency at a steady --rate events/s, --repeats windows of --seconds: from the moment
   the insert's commit returns (one event per transaction, NOTIFY included, as the auth
   writer does) to its arrival at a consumer of the topic; the relay runs as its own
   process (the default capture: log-based where the database allows it), and its CPU
   per event (from /proc, all its threads) is printed beside: at a low rate a batch is
   one event, so this is what each batch costs the relay.
3. LISTEN/NOTIFY's commit cost (PostgreSQL only, measured once): --threads concurrent
   writers committing one-row transactions with and without ``pg_notify`` in them.

Targets are printed as met or NOT MET; a miss does not fail the run (the machine is shared).
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from confluent_kafka import Consumer, Producer
from playball_core.local_stack import KAFKA_ADMIN, KAFKA_CONSUMER, KAFKA_RELAY
from playball_core.manifest import dead_letter_topic, topic_record_subject
from playball_events.contracts import UserRegistered, UserUpdated
from playball_events.gc_tuning import RELAY_YOUNG_GENERATION, tune_for_service
from playball_events.outbox.capture_wal_sql import PgSlotMonitor, WalChangeStream, drop_slot
from playball_events.outbox.model import OUTBOX_CHANNEL, NewOutboxEvent, schema_fingerprint
from playball_events.outbox.ports import (
    CapturedBatch,
    Deliveries,
    EventPublisher,
    OutboxEvent,
    OutboxStatus,
    OutgoingMessage,
    PendingDeliveries,
    SlotStatus,
)
from playball_events.outbox.producer_kafka import KafkaEventPublisher, producer_config
from playball_events.outbox.relay import OutboxRelay, RelayConfig
from playball_events.outbox.relay_settings import default_slot_name
from playball_events.outbox.schema_ids import SchemaHeaders
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.outbox.store_postgres_sql import PostgresOutboxStore, postgres_outbox_engine
from playball_events.outbox.store_sql import SqlOutboxStore
from playball_events.outbox.wakeup import PollWakeup
from playball_events.outbox.wal_relay import WalConfig, WalOutboxRelay
from playball_events.outbox.writer_sql import write_outbox_events
from playball_events.serde import header
from playball_events.settings import RuntimeSettings, load_settings
from playball_events.topics_admin_kafka import TopicsAdmin
from playball_stack.settings import StackSettings

if TYPE_CHECKING:  # mypy knows this directory as the namespace package `scripts`
    from scripts import bench_support as bench
else:
    import bench_support as bench

TARGET_RATE = 20_000
TARGET_SECURED_RATIO = 0.8
TARGET_NAIVE_RATIO = 10
AIM_RAW_RATIO = 0.3
TARGET_WAL_RATIO = 1.5  # the log-based relay against the polling relay
TARGET_P99_MS = 25.0
SLOT_DROP_PATIENCE = 30.0  # seconds for a closed stream's walsender to leave its slot
WAL_DRAIN_TIMEOUT = 600.0  # a log-based drain that takes longer has stalled
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")  # /proc's CPU time unit

RawMessage = tuple[bytes, bytes, list[tuple[str, str | bytes | None]]]


def full_name(cls: type[Any]) -> str:
    schema = cls.avro_schema()
    return f"{schema['namespace']}.{schema['name']}"


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
    """A fresh database on the server, dropped at the end with any replication slot left
    on it (a database that has one cannot be dropped), whatever happened."""
    name = f"playball_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**conninfo(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(**conninfo(server_url, "postgres"), autocommit=True) as conn:
            drop_database_slots(conn, name)
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_database_slots(conn: "psycopg.Connection[Any]", database: str) -> None:
    """Drop every replication slot of ``database``, ending the walsenders streaming them."""
    deadline = time.monotonic() + SLOT_DROP_PATIENCE
    while rows := conn.execute(
        "SELECT slot_name, active_pid FROM pg_replication_slots WHERE database = %s", [database]
    ).fetchall():
        for slot, active_pid in rows:
            if active_pid is not None:
                conn.execute("SELECT pg_terminate_backend(%s)", [active_pid])
                continue
            with suppress(psycopg.errors.ObjectInUse, psycopg.errors.UndefinedObject):
                conn.execute("SELECT pg_drop_replication_slot(%s)", [slot])
        if time.monotonic() > deadline:
            msg = f"replication slots {[r[0] for r in rows]} of {database} could not be dropped"
            raise RuntimeError(msg)
        time.sleep(0.05)


def create_slot(url: str) -> str:
    """The log-based relay's slot, created (and its stream opened once) as the relay's
    first start does: rows inserted after this are read from the log, not the table."""
    slot = default_slot_name(url)
    stream = WalChangeStream(url, slot=slot)
    stream.open()
    stream.close()
    return slot


def remove_slot(url: str, slot: str) -> None:
    """Drop ``slot``, once the walsender of the stream just closed has left it."""
    drop_slot(url, slot, patience=SLOT_DROP_PATIENCE)


@contextmanager
def scratch_topic(
    clusters: Sequence[bench.Cluster], settings: RuntimeSettings, groups: Sequence[str]
) -> Iterator[str]:
    """One topic name, made by our topics ensure on every cluster (as admin), its subjects
    registered, the services' ACLs on it and on ``groups`` granted; deleted at the end."""
    topic = f"bench.relay.{uuid.uuid4().hex[:8]}"
    with settings.registry_client() as registry:
        for cls in (UserRegistered, UserUpdated):
            subject = topic_record_subject(topic, full_name(cls))
            registry.register(subject, json.dumps(cls.avro_schema()))
    made: list[bench.Cluster] = []
    try:
        for cluster in clusters:
            TopicsAdmin(cluster.bootstrap, security=cluster.security(KAFKA_ADMIN)).ensure([topic])
            made.append(cluster)
        with ExitStack() as acls:
            for cluster in clusters:
                acls.enter_context(bench.scratch_acls(cluster, topic, groups))
            yield topic
    finally:
        for cluster in made:
            if cluster.secured:  # a private broker's data goes with it
                bench.delete_groups(cluster, groups)
                admin = cluster.admin()  # held: its futures fail once it is destroyed
                for future in admin.delete_topics([topic, dead_letter_topic(topic)]).values():
                    future.result(30)


def warm_up(publisher: EventPublisher, topic: str) -> None:
    """Connect and fetch the topic's metadata before timing: a one-off cost, not a rate."""
    publisher.send([OutgoingMessage(topic, b"warm-up", b"")]).wait()


def refill(
    url: str, store: SqlOutboxStore, rows: Sequence[NewOutboxEvent], *, slot_first: bool = False
) -> str | None:
    """An outbox holding exactly ``rows``, pending, with fresh statistics: every drain
    starts from the same table. With ``slot_first``, the log-based relay's slot is created
    after the TRUNCATE and before the inserts (so they are all in its stream): its name."""
    with psycopg.connect(**conninfo(url), autocommit=True) as conn:
        conn.execute("TRUNCATE outbox")
    slot = create_slot(url) if slot_first else None
    for start in range(0, len(rows), 5000):
        insert(store, rows[start : start + 5000])
    # Statistics, as autovacuum would gather for a table that grew this much: without
    # them the planner does not know the backlog is large and sorts it instead of
    # walking the pending-rows index.
    with psycopg.connect(**conninfo(url), autocommit=True) as conn:
        conn.execute("ANALYZE outbox")
    return slot


def relay_throughput(
    cluster: bench.Cluster,
    settings: RuntimeSettings,
    url: str,
    topic: str,
    batch: int,
    *,
    expected: int,
) -> tuple[float, int]:
    """The polling relay's drain: its own loop (``run``, housekeeping included, as the
    log-based relay's below), from its start to the last of ``expected`` rows marked sent;
    its store on the engine the relay process uses."""
    ended: list[float] = []

    def drained() -> None:
        ended.append(time.perf_counter())
        relay.stop()

    store = DrainingStore(
        url, split=Split(), marking=Split(), setup=Split(), expected=expected, drained=drained
    )
    relay = OutboxRelay(
        store,
        KafkaEventPublisher(cluster.bootstrap, security=cluster.security(KAFKA_RELAY)),
        SchemaHeaders(settings.registry_client()),
        PollWakeup(),
        relay_id="bench",
        config=RelayConfig(batch_size=batch),
    )
    warm_up(relay.publisher, topic)
    watchdog = threading.Timer(WAL_DRAIN_TIMEOUT, relay.stop)
    watchdog.daemon = True
    watchdog.start()
    started = time.perf_counter()
    try:
        relay.run()
    finally:
        watchdog.cancel()
        store.engine.dispose()
    if not ended:
        msg = f"the polling relay marked {store.marked} of {expected} rows sent in time"
        raise RuntimeError(msg)
    return store.marked / (ended[0] - started), store.marked


# -- the log-based relay ------------------------------------------------------------------


@dataclass
class Split:
    """CPU (``time.thread_time``) and wall seconds the calling thread spent inside one kind
    of call."""

    cpu: float = 0.0
    wall: float = 0.0

    @contextmanager
    def timed(self) -> Iterator[None]:
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            yield
        finally:
            self.cpu += time.thread_time() - cpu
            self.wall += time.perf_counter() - wall


class TimedStream(WalChangeStream):
    """The relay's change stream, timing its reads (framing and decoding to events) and,
    apart, its opening."""

    def __init__(self, url: str, *, slot: str, split: Split, setup: Split) -> None:
        super().__init__(url, slot=slot)
        self.split = split
        self.setup = setup

    def open(self) -> bool:
        with self.setup.timed():
            return super().open()

    def read(self, max_events: int, timeout: float) -> CapturedBatch:
        with self.split.timed():
            return super().read(max_events, timeout)


class TimedSlotMonitor(PgSlotMonitor):
    def __init__(self, url: str, slot: str, split: Split) -> None:
        super().__init__(url, slot)
        self.split = split

    def status(self) -> SlotStatus | None:
        with self.split.timed():
            return super().status()


class TimedPending(PendingDeliveries):
    def __init__(self, pending: PendingDeliveries, split: Split) -> None:
        self.pending = pending
        self.split = split

    def wait(self) -> Deliveries:
        with self.split.timed():
            return self.pending.wait()


class TimedPublisher(EventPublisher):
    """The relay's publisher, timing its sends and its delivery waits."""

    def __init__(self, publisher: EventPublisher, split: Split) -> None:
        self.publisher = publisher
        self.split = split

    def send(self, messages: Sequence[OutgoingMessage]) -> PendingDeliveries:
        with self.split.timed():
            return TimedPending(self.publisher.send(messages), self.split)

    def close(self) -> None:
        self.publisher.close()


class DrainingStore(PostgresOutboxStore):
    """The relay's store (its engine as ``open_outbox_store(url, for_relay=True)`` makes
    it), timing its per-batch statements and, apart, those of its start and housekeeping;
    calling ``drained`` once ``expected`` rows are marked sent."""

    def __init__(
        self,
        url: str,
        *,
        split: Split,
        marking: Split,
        setup: Split,
        expected: int,
        drained: Callable[[], None],
    ) -> None:
        super().__init__(postgres_outbox_engine(url, for_relay=True))
        self.split = split
        self.marking = marking  # the relay's recorder thread marks, not its main loop
        self.setup = setup
        self.expected = expected
        self.marked = 0
        self._drained: Callable[[], None] | None = drained

    # the log-based relay's start finds the held users on its side thread, as it checks
    # each batch's rows there (the polling relay's, on its loop's thread, at its start)
    def release(self, relay_id: str, events: Sequence[OutboxEvent] | None = None) -> None:
        with self.split.timed():
            super().release(relay_id, events)

    def held_users(self, among: Sequence[str] | None = None) -> set[str]:
        with self.split.timed():
            return super().held_users(among)

    def status(self, parked_limit: int = 100) -> OutboxStatus:
        # the log-based relay asks for it on its side thread (the polling relay, on its loop)
        with self.split.timed():
            return super().status(parked_limit)

    def cleanup(self, older_than: dt.timedelta, batch_size: int, max_batches: int) -> int:
        with self.setup.timed():
            return super().cleanup(older_than, batch_size, max_batches)

    def stream_verdicts(
        self, seqs: Sequence[int], xids: Sequence[int]
    ) -> tuple[set[int], set[str]]:
        with self.split.timed():
            return super().stream_verdicts(seqs, xids)

    def mark_sent(self, events: Sequence[OutboxEvent]) -> None:
        with self.marking.timed():
            super().mark_sent(events)
        self.count_marked(events)

    def remove_streamed(self, events: Sequence[OutboxEvent]) -> None:
        with self.marking.timed():
            super().remove_streamed(events)
        self.count_marked(events)

    def count_marked(self, events: Sequence[OutboxEvent]) -> None:
        self.marked += len(events)
        if self.marked >= self.expected and self._drained is not None:
            drained, self._drained = self._drained, None
            drained()


def proc_cpu(pid: int | None = None) -> float | None:
    """CPU seconds (user + system) of a process of this machine; None when unreadable."""
    try:
        text = Path(f"/proc/{pid or 'self'}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # after the command name: state is fields[0]
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy() -> float | None:
    """CPU seconds this machine's cores spent busy since boot (/proc/stat)."""
    try:
        cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(value) for value in cpu[:8]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS


@dataclass(frozen=True)
class CpuSnapshot:
    at: float
    thread: float  # the relay's main loop's thread's CPU (whichever thread takes it)
    process: float  # all of this process's threads
    machine: float | None
    splits: dict[str, tuple[float, float]]  # (cpu, wall) per timed kind of call
    backends: dict[int, tuple[str, float | None]]  # pid -> (backend type, CPU seconds)


def cpu_snapshot(
    monitor: "psycopg.Connection[Any]", splits: dict[str, Split], relay_clock: int
) -> CpuSnapshot:
    """Taken on any thread: the end's is taken on the relay's recorder thread, when the
    last batch is marked; ``relay_clock`` is the relay loop's thread's CPU clock."""
    at, process = time.perf_counter(), time.process_time()
    thread = time.clock_gettime(relay_clock)
    frozen = {name: (split.cpu, split.wall) for name, split in splits.items()}
    rows = monitor.execute(
        "SELECT pid, backend_type FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ).fetchall()
    return CpuSnapshot(
        at,
        thread,
        process,
        machine_busy(),
        frozen,
        {pid: (kind, proc_cpu(pid)) for pid, kind in rows},
    )


@dataclass
class WalRun:
    """One log-based drain: its rate and where the CPU went (seconds; None: unknown)."""

    rate: float
    delivered: int
    elapsed: float
    cpu: dict[str, float | None] = field(default_factory=dict)
    wall: dict[str, float] = field(default_factory=dict)


def backend_cpu(start: CpuSnapshot, end: CpuSnapshot, kind: str) -> float | None:
    """CPU the database's backends of ``kind`` used between the snapshots (a backend
    started in between counts whole)."""
    total = 0.0
    for pid, (found, cpu) in end.backends.items():
        if found != kind:
            continue
        if cpu is None:
            return None
        before = start.backends.get(pid, (kind, 0.0))[1]
        total += cpu - (before or 0.0)
    return total


# splits timed on threads beside the relay loop: the side thread's (the checks of the
# batches, the held users at the start) and the recorder's (the removal of acked rows)
OFF_LOOP = ("store", "marking")


def wal_run(start: CpuSnapshot, end: CpuSnapshot, delivered: int) -> WalRun:
    elapsed = end.at - start.at
    split = {
        name: (cpu - start.splits[name][0], wall - start.splits[name][1])
        for name, (cpu, wall) in end.splits.items()
    }
    thread = end.thread - start.thread
    machine = (
        end.machine - start.machine
        if end.machine is not None and start.machine is not None
        else None
    )
    cpu: dict[str, float | None] = {name: cpu for name, (cpu, _) in split.items()}
    # the relay loop's own calls; the side thread and the recorder have their own
    on_loop = sum(c for name, (c, _) in split.items() if name not in OFF_LOOP)
    cpu["rest"] = thread - on_loop
    cpu["threads"] = end.process - start.process - thread - sum(split[name][0] for name in OFF_LOOP)
    cpu["walsender"] = backend_cpu(start, end, "walsender")
    cpu["backends"] = backend_cpu(start, end, "client backend")
    cpu["machine"] = machine
    wall = {name: w for name, (_, w) in split.items()}
    wall["rest"] = elapsed - sum(w for name, w in wall.items() if name not in OFF_LOOP)
    return WalRun(delivered / elapsed, delivered, elapsed, cpu, wall)


def wal_throughput(
    cluster: bench.Cluster,
    settings: RuntimeSettings,
    url: str,
    topic: str,
    *,
    slot: str,
    batch: int,
    expected: int,
    store_type: type["DrainingStore"] | None = None,
) -> WalRun:
    """Drain the outbox's rows from ``slot`` with a log-based relay composed as
    ``runner.build_relay`` composes it (producer settings as the polling relay's here),
    until ``expected`` rows are acked and marked sent (by ``store_type``, a
    :class:`DrainingStore` unless another benchmark gives its own)."""
    splits = {
        "decode": Split(),
        "produce": Split(),
        "store": Split(),
        "marking": Split(),
        "setup": Split(),
    }
    relay_clock = time.pthread_getcpuclockid(threading.get_ident())  # relay.run() is here
    publisher = KafkaEventPublisher(cluster.bootstrap, security=cluster.security(KAFKA_RELAY))
    warm_up(publisher, topic)
    ends: list[CpuSnapshot] = []
    with psycopg.connect(**conninfo(url), autocommit=True) as monitor:

        def drained() -> None:
            ends.append(cpu_snapshot(monitor, splits, relay_clock))
            relay.stop()  # settles nothing more: the last batch is marked already

        store = (store_type or DrainingStore)(
            url,
            split=splits["store"],
            marking=splits["marking"],
            setup=splits["setup"],
            expected=expected,
            drained=drained,
        )
        relay = WalOutboxRelay(
            TimedStream(url, slot=slot, split=splits["decode"], setup=splits["setup"]),
            store,
            TimedSlotMonitor(url, slot, splits["setup"]),
            TimedPublisher(publisher, splits["produce"]),
            SchemaHeaders(settings.registry_client()),
            relay_id="bench-wal",
            config=WalConfig(RelayConfig(batch_size=batch)),
        )
        watchdog = threading.Timer(WAL_DRAIN_TIMEOUT, relay.stop)
        watchdog.daemon = True
        start = cpu_snapshot(monitor, splits, relay_clock)
        watchdog.start()
        try:
            relay.run()  # here, on this thread: its thread_time is the relay loop's
        finally:
            watchdog.cancel()
            store.engine.dispose()
    if not ends:
        msg = (
            f"the log-based relay marked {store.marked} of {expected} rows sent "
            f"within {WAL_DRAIN_TIMEOUT:.0f} s"
        )
        raise RuntimeError(msg)
    return wal_run(start, ends[0], store.marked)


def raw_messages(
    settings: RuntimeSettings, topic: str, rows: list[NewOutboxEvent]
) -> list[RawMessage]:
    """``rows`` as the relay sends them (schema-id header, event headers), serialized."""
    prefix = {}
    with settings.registry_client() as registry:
        for cls in (UserRegistered, UserUpdated):
            found = registry.lookup(
                topic_record_subject(topic, full_name(cls)), json.dumps(cls.avro_schema())
            )
            assert found is not None
            prefix[full_name(cls)] = header(found.id)
    return [
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


def raw_ceiling(cluster: bench.Cluster, topic: str, messages: list[RawMessage]) -> float:
    producer = Producer(cluster.config(KAFKA_RELAY, **producer_config(cluster.bootstrap)))
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


def naive_relay(
    cluster: bench.Cluster, settings: RuntimeSettings, url: str, topic: str, count: int
) -> float:
    """One row at a time, the transaction open across the publish, waiting for each ack."""
    with settings.registry_client() as registry:
        headers = SchemaHeaders(registry)
        producer = Producer(
            cluster.config(KAFKA_RELAY, **producer_config(cluster.bootstrap, linger_ms=0))
        )
        producer.produce(topic, value=b"", key=b"warm-up")  # connect before timing
        assert producer.flush(30) == 0
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
    """A consumer thread, as ``groups-consumer`` in ``group``, noting when each event id
    arrives."""

    def __init__(self, cluster: bench.Cluster, topic: str, group: str) -> None:
        self.config = cluster.config(
            KAFKA_CONSUMER,
            **{
                "group.id": group,
                "auto.offset.reset": "latest",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 5,
            },
        )
        self.at: dict[str, float] = {}
        self.ready = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(topic,))
        self._thread.start()

    def _run(self, topic: str) -> None:
        consumer = Consumer(self.config)
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


def start_relay_process(
    cluster: bench.Cluster, settings: RuntimeSettings, url: str
) -> "subprocess.Popen[bytes]":
    env = cluster.child_environment(
        KAFKA_RELAY,
        PLAYBALL_SCHEMA_REGISTRY_URL=settings.schema_registry_url,
        PLAYBALL_RELAY_METRICS_PORT="0",
    )
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


class Window:
    """One latency window's figures."""

    def __init__(self, latencies_ms: list[float], achieved: float, relay_cpu_s: float) -> None:
        ordered = sorted(latencies_ms)
        self.p50 = statistics.median(ordered)
        self.p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        self.achieved = achieved
        self.count = len(ordered)
        # the relay process's CPU (all its threads) per event, ms: at a low rate a batch is
        # an event, so this is the relay's fixed cost per batch
        self.relay_cpu_ms = relay_cpu_s * 1000 / len(ordered)


def latency(
    cluster: bench.Cluster,
    settings: RuntimeSettings,
    url: str,
    topic: str,
    *,
    group: str,
    args: argparse.Namespace,
) -> list[Window]:
    """``args.repeats`` windows through one relay process on ``cluster``."""
    with psycopg.connect(**conninfo(url), autocommit=True) as conn:
        conn.execute("TRUNCATE outbox")
    store = open_outbox_store(url)
    arrivals = Arrivals(cluster, topic, group)
    relay = start_relay_process(cluster, settings, url)
    windows = []
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
        for _ in range(args.repeats):
            relay_cpu = proc_cpu(relay.pid) or 0.0
            commits = steady_writes(store, topic, args.rate, args.seconds)
            deadline = time.perf_counter() + 30
            while arrivals.at.keys() & commits.keys() != commits.keys():
                if time.perf_counter() > deadline:
                    break
                time.sleep(0.05)
            lat = [(arrivals.at[k] - commits[k]) * 1000 for k in commits if k in arrivals.at]
            missing = len(commits) - len(lat)
            assert missing == 0, f"{missing} events did not arrive"
            relay_cpu = (proc_cpu(relay.pid) or 0.0) - relay_cpu
            windows.append(Window(lat, len(commits) / args.seconds, relay_cpu))
            print(
                f"   {cluster.label:<9} window {len(windows)}: p50 {windows[-1].p50:5.1f} ms"
                f"  p99 {windows[-1].p99:5.1f} ms"
                f"  relay CPU {windows[-1].relay_cpu_ms:.2f} ms/event",
                file=sys.stderr,
            )
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(60)
        arrivals.stop()
        store.engine.dispose()
    return windows


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


def wal_drain(
    cluster: bench.Cluster,
    settings: RuntimeSettings,
    url: str,
    topic: str,
    *,
    store: SqlOutboxStore,
    rows: Sequence[NewOutboxEvent],
    batch: int,
    fill: Callable[[str, SqlOutboxStore, Sequence[NewOutboxEvent]], str] | None = None,
    store_type: type[DrainingStore] | None = None,
) -> WalRun:
    """The outbox refilled behind a fresh slot (by ``fill``, which returns the slot's name,
    unless another benchmark fills it its own way), drained by the log-based relay (see
    :func:`wal_throughput` for ``store_type``); the slot dropped after."""
    slot = fill(url, store, rows) if fill else refill(url, store, rows, slot_first=True)
    assert slot is not None
    try:
        return wal_throughput(
            cluster,
            settings,
            url,
            topic,
            slot=slot,
            batch=batch,
            expected=len(rows),
            store_type=store_type,
        )
    finally:
        remove_slot(url, slot)


class Throughput:
    """Per cluster label, per measure (relay, wal, raw, naive): one rate per round; and
    the log-based relay's drains."""

    def __init__(self, clusters: Sequence[bench.Cluster]) -> None:
        self.rates: dict[str, dict[str, list[float]]] = {
            c.label: {"relay": [], "wal": [], "raw": [], "naive": []} for c in clusters
        }
        self.wal_runs: dict[str, list[WalRun]] = {c.label: [] for c in clusters}


def throughput(
    clusters: Sequence[bench.Cluster],
    settings: RuntimeSettings,
    url: str,
    topic: str,
    args: argparse.Namespace,
) -> Throughput:
    store = open_outbox_store(url)
    store.create_table()
    rows = backlog(topic, args.events, args.users)
    naive_rows = backlog(topic, args.naive, args.naive)
    messages = raw_messages(settings, topic, rows)
    # As the relay process does after start-up; here it also freezes the backlog this
    # process holds for (a), which the relay process never has in memory.
    tune_for_service(RELAY_YOUNG_GENERATION)
    print(f"backlog: {len(rows)} events over {args.users} users in a fresh Postgres database")
    result = Throughput(clusters)
    try:
        for cluster in clusters:  # unmeasured: the private broker starts with a cold JIT
            for _ in range(args.warmup):
                refill(url, store, rows)
                relay_throughput(cluster, settings, url, topic, args.batch, expected=len(rows))
                raw_ceiling(cluster, topic, messages)
                wal_drain(cluster, settings, url, topic, store=store, rows=rows, batch=args.batch)
        for round_ in range(args.repeats):
            # alternate which broker goes first, so neither always follows the other's load
            for cluster in clusters if round_ % 2 == 0 else list(reversed(clusters)):
                mine = result.rates[cluster.label]
                refill(url, store, rows)
                rate, delivered = relay_throughput(
                    cluster, settings, url, topic, args.batch, expected=len(rows)
                )
                assert delivered == len(rows), (delivered, len(rows))
                mine["relay"].append(rate)
                mine["raw"].append(raw_ceiling(cluster, topic, messages))
                run = wal_drain(
                    cluster, settings, url, topic, store=store, rows=rows, batch=args.batch
                )
                assert run.delivered == len(rows), (run.delivered, len(rows))
                mine["wal"].append(run.rate)
                result.wal_runs[cluster.label].append(run)
                refill(url, store, naive_rows)  # the naive relay drains a backlog of its own
                mine["naive"].append(naive_relay(cluster, settings, url, topic, args.naive))
                print(
                    f"   round {round_ + 1} {cluster.label:<9}  relay {mine['relay'][-1]:>9,.0f}"
                    f"  wal {mine['wal'][-1]:>9,.0f}  raw {mine['raw'][-1]:>9,.0f}"
                    f"  naive {mine['naive'][-1]:>7,.0f} ev/s",
                    file=sys.stderr,
                )
    finally:
        store.engine.dispose()
    return result


def print_throughput(result: Throughput, args: argparse.Namespace) -> None:
    rates = result.rates
    sec = {k: statistics.median(v) for k, v in rates["secured"].items()}
    pln = {k: statistics.median(v) for k, v in rates["PLAINTEXT"].items()}
    print(f"\n1. throughput (events/s, to acked Kafka messages), median of {args.repeats}")
    print(f"   {'':34}{'secured':>10}{'PLAINTEXT':>11}{'sec/PLAIN':>11}")
    for key, label in (
        ("relay", f"polling relay, batch {args.batch}"),
        ("wal", f"(w) log-based relay, batch {args.batch}"),
        ("raw", "(a) raw producer ceiling"),
        ("naive", f"(b) naive relay ({args.naive} events)"),
    ):
        print(f"   {label:34}{sec[key]:>10,.0f}{pln[key]:>11,.0f}{sec[key] / pln[key]:>11.2f}")
    for label, over, under, reference in (
        ("(w) / polling relay", "wal", "relay", f"target >= {TARGET_WAL_RATIO}"),
        ("(w) / (a)", "wal", "raw", f"aim >= {AIM_RAW_RATIO}"),
        ("polling relay / (a)", "relay", "raw", f"aim >= {AIM_RAW_RATIO}"),
    ):
        print(
            f"   {label:34}{sec[over] / sec[under]:>10.2f}"
            f"{pln[over] / pln[under]:>11.2f}{'':11}{reference}"
        )
    print(
        f"   {'polling relay / (b)':34}{sec['relay'] / sec['naive']:>10.1f}"
        f"{pln['relay'] / pln['naive']:>11.1f}{'':11}target >= {TARGET_NAIVE_RATIO}"
    )
    ratio = sec["relay"] / pln["relay"]
    print("\n   targets")
    print(
        f"   secured relay >= {TARGET_RATE:,} ev/s: {sec['relay']:,.0f} "
        f"-> {bench.verdict(sec['relay'] >= TARGET_RATE)}"
    )
    print(
        f"   secured relay >= {TARGET_SECURED_RATIO}x PLAINTEXT relay: {ratio:.2f}x "
        f"-> {bench.verdict(ratio >= TARGET_SECURED_RATIO)}"
    )
    per_round = [
        s / p for s, p in zip(rates["secured"]["relay"], rates["PLAINTEXT"]["relay"], strict=True)
    ]
    print(
        f"   (per-round secured/PLAINTEXT relay: "
        f"{', '.join(f'{r:.2f}' for r in per_round)}; median {statistics.median(per_round):.2f})"
    )
    wal_ratio = sec["wal"] / sec["relay"]
    print(
        f"   secured log-based relay >= {TARGET_WAL_RATIO}x polling relay: {wal_ratio:.2f}x "
        f"-> {bench.verdict(wal_ratio >= TARGET_WAL_RATIO)}"
    )
    raw_ratio = sec["wal"] / sec["raw"]
    print(
        f"   secured log-based relay >= {AIM_RAW_RATIO}x raw producer (aim): {raw_ratio:.2f}x "
        f"-> {bench.verdict(raw_ratio >= AIM_RAW_RATIO)}"
    )
    per_round_wal = [
        w / p for w, p in zip(rates["secured"]["wal"], rates["secured"]["relay"], strict=True)
    ]
    print(
        f"   (per-round secured log-based/polling: {', '.join(f'{r:.2f}' for r in per_round_wal)})"
    )
    if min(sec["wal"] / sec["raw"], pln["wal"] / pln["raw"]) < AIM_RAW_RATIO:
        print_wal_cpu(result.wal_runs)


CPU_ROWS = (
    ("decode", "relay thread: WalChangeStream.read"),
    ("produce", "relay thread: send + delivery wait"),
    ("setup", "relay thread: start-up + housekeeping"),
    ("rest", "relay thread: the rest"),
    ("store", "side thread: checks, held users, status"),
    ("marking", "recorder thread: remove acked rows"),
    ("threads", "relay's other threads (librdkafka)"),
    ("walsender", "PostgreSQL walsender (the slot)"),
    ("backends", "PostgreSQL backends (relay's SQL)"),
    ("machine", "whole machine, all processes"),
)


def print_wal_cpu(runs: dict[str, list[WalRun]]) -> None:
    """Where the log-based drains' CPU went: median seconds per component, and per event."""
    elapsed = {label: statistics.median(r.elapsed for r in mine) for label, mine in runs.items()}
    events = next(iter(runs.values()))[0].delivered
    print(
        f"\n   CPU of the log-based relay's drains ({events:,} events; median of the rounds; "
        "wall: time inside the calls)"
    )
    header = "".join(f"{label + ' CPU s':>17}{'us/ev':>7}{'wall s':>8}" for label in runs)
    print(f"   {'':38}{header}")
    print(f"   {'elapsed (the drain)':38}" + "".join(f"{'':>24}{elapsed[k]:>8.2f}" for k in runs))
    for key, label in CPU_ROWS:
        cells = ""
        for mine in runs.values():
            found = [r.cpu[key] for r in mine]
            if any(value is None for value in found):
                cells += f"{'n/a':>17}{'':>7}{'':>8}"
                continue
            cpu = statistics.median(value for value in found if value is not None)
            walls = [r.wall[key] for r in mine if key in r.wall]
            wall = f"{statistics.median(walls):>8.2f}" if walls else f"{'':>8}"
            cells += f"{cpu:>17.2f}{cpu / events * 1e6:>7.1f}{wall}"
        print(f"   {label:38}{cells}")
    cores = os.cpu_count() or 1
    print(
        f"   (the machine has {cores} cores: {cores} x elapsed CPU seconds at most; what the "
        "rows above leave of the machine's figure went to the broker, the registry and "
        "other processes)"
    )


def print_latency(windows: dict[str, list[Window]], args: argparse.Namespace) -> None:
    sec, pln = windows["secured"], windows["PLAINTEXT"]
    achieved = statistics.median(w.achieved for w in sec + pln)
    print(
        f"\n2. latency, commit returned -> consumer, at {achieved:.0f} events/s, median of "
        f"{args.repeats} windows of {args.seconds:.0f} s ({sum(w.count for w in sec)} + "
        f"{sum(w.count for w in pln)} events)"
    )
    print(f"   {'':8}{'secured':>10}{'PLAINTEXT':>11}{'sec/PLAIN':>11}")
    for name in ("p50", "p99"):
        s = statistics.median(getattr(w, name) for w in sec)
        p = statistics.median(getattr(w, name) for w in pln)
        print(f"   {name:8}{s:>8.1f}ms{p:>9.1f}ms{s / p:>11.2f}")
    s = statistics.median(w.relay_cpu_ms for w in sec)
    p = statistics.median(w.relay_cpu_ms for w in pln)
    print(f"   relay CPU per event{s:>6.2f}ms{p:>9.2f}ms{s / p:>11.2f}   (the relay process)")
    p99 = statistics.median(w.p99 for w in sec)
    print(f"   secured p99 <= {TARGET_P99_MS:.0f} ms: {bench.verdict(p99 <= TARGET_P99_MS)}")


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
    parser.add_argument("--repeats", type=int, default=3, help="rounds per broker (median)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds per broker")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0, help="per latency window")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--notify-seconds", type=float, default=5.0)
    only = parser.add_mutually_exclusive_group()
    only.add_argument(
        "--throughput-only", action="store_true", help="section 1 only (no latency, no NOTIFY)"
    )
    only.add_argument(
        "--latency-only", action="store_true", help="section 2 only (no throughput, no NOTIFY)"
    )
    args = parser.parse_args()
    settings = load_settings(RuntimeSettings)  # the registry's address
    stack = StackSettings()
    secured = bench.secured_stack(stack)

    with (
        bench.plaintext_broker(stack) as plaintext,
        scratch_database(stack.effective_database_url) as url,
    ):
        clusters = (secured, plaintext)
        group = f"bench-relay-arrivals-{uuid.uuid4().hex[:8]}"
        with scratch_topic(clusters, settings, [group]) as topic:
            if not args.latency_only:
                result = throughput(clusters, settings, url, topic, args)
                print_throughput(result, args)
            if args.throughput_only:
                return
            if args.latency_only:  # the table the throughput section would have made
                store = open_outbox_store(url)
                store.create_table()
                store.engine.dispose()
            windows = {
                c.label: latency(c, settings, url, topic, group=group, args=args) for c in clusters
            }
            print_latency(windows, args)
            if args.latency_only:
                return

        costs = notify_cost(url, args.threads, args.notify_seconds)
        print(f"\n3. NOTIFY commit cost, {args.threads} concurrent writers, one-row transactions")
        for notify, (tps, mean, p99c) in costs.items():
            label = "with pg_notify   " if notify else "without pg_notify"
            print(f"   {label}  {tps:8,.0f} tx/s   mean {mean:5.2f} ms   p99 {p99c:5.2f} ms")
        ratio = costs[True][0] / costs[False][0]
        print(f"   throughput with / without  {ratio:.2f}")


if __name__ == "__main__":
    main()
