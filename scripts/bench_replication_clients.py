"""Logical replication clients for the log-based relay, measured side by side: the one the
relay uses was picked from these figures (issue 21, "The client").

Run: UV_NO_SYNC=1 python3 -m uv run python scripts/bench_replication_clients.py
     [--rows 50000] [--per-transaction 1] [--repeats 3] [--warmup 2000]

Each candidate reads the same --rows outbox inserts from a ``pgoutput`` slot (options
``proto_version '1'``, ``publication_names 'playball_outbox'``, ``binary 'true'``) and
decodes each insert to an outbox event with the project's ``pgoutput`` module, so that
only the client differs:

(a) psycopg 3, the services' driver: replication-mode COPY BOTH, the framing (XLogData,
    keepalives, status updates) ours: the project's ``WalChangeStream`` as the relay
    reads with it (the chosen one);
(b) psycopg2's ``LogicalReplicationConnection``: ``start_replication(decode=False)`` and
    a ``read_message`` loop, each message's payload parsed by ``parse_pgoutput`` and
    decoded by the same ``EventDecoder``;
(c) pg8000's ``replication=`` connections: START_REPLICATION is tried; it is measured the
    same way if pg8000 can stream COPY BOTH, and the reason is printed if it cannot.

psycopg2-binary and pg8000 are not dependencies of the project (and must not become
ones). To measure them, install them into a directory outside the project and put it on
PYTHONPATH for the run:

    python3 -m uv pip install --python .venv/bin/python --target DIR psycopg2-binary pg8000
    PYTHONPATH=DIR UV_NO_SYNC=1 python3 -m uv run python scripts/bench_replication_clients.py

A missing one is printed as "not installed", with that command.

Setup, on the stack's PostgreSQL (superuser URL, as scripts/bench_relay.py): a scratch
database whose outbox table (and publication) ``open_outbox_store(url).create_table()``
makes; a template slot created before the rows are inserted, rows like the relay's
(UserRegistered then UserUpdated payloads, 5 versions a user), --per-transaction a
transaction (1: as the auth service writes them). Every run reads from a fresh copy of
the template (``pg_copy_logical_replication_slot``): the same stream from the same
position for each candidate. Nothing is confirmed to the slot. The database, with its
slots, is dropped at the end whatever happens.

Printed per candidate, median of --repeats runs (the candidates' order rotates from run
to run, after one unmeasured run of --warmup rows each): rows/s from connecting to the
last row decoded (for (a) that includes ``WalChangeStream.open``'s look at the slot on a
second, ordinary connection, as the relay pays it); the client's CPU seconds per
10,000 rows (``time.process_time``; the benchmark process does nothing else meanwhile);
and the walsender's (the server's side, the same work whichever client reads; from
/proc, so only with PostgreSQL on this machine).
"""

import argparse
import importlib
import importlib.metadata
import importlib.util
import select
import statistics
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from playball_events.outbox.capture_wal_sql import WalChangeStream, conninfo
from playball_events.outbox.model import NewOutboxEvent
from playball_events.outbox.pgoutput import EventDecoder, Insert, Relation, parse_pgoutput
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.outbox.table_sql import OUTBOX_TABLE, publication_name
from playball_events.outbox.writer_sql import write_outbox_events
from playball_stack.settings import StackSettings

if TYPE_CHECKING:  # mypy knows this directory as the namespace package `scripts`
    from scripts import bench_relay
else:
    import bench_relay

OPTIONS = {
    "proto_version": "1",
    "publication_names": publication_name(OUTBOX_TABLE),
    "binary": "true",
}
START = (
    "START_REPLICATION SLOT {slot} LOGICAL 0/0 ("
    + ", ".join(f"{name} '{value}'" for name, value in OPTIONS.items())
    + ")"
)
READ_BATCH = 2000  # events per WalChangeStream.read, the relay's default batch
READ_TIMEOUT = 300.0  # a run that has not read every row by then has stalled
VERSIONS_PER_USER = 5
INSTALL = (
    "python3 -m uv pip install --python .venv/bin/python --target DIR {package}, "
    "then run with PYTHONPATH=DIR"
)

Done = Callable[[], None]


class UnusableError(Exception):
    """The client cannot stream a logical replication slot: why."""


@dataclass(frozen=True)
class Candidate:
    label: str
    module: str  # what must be importable
    package: str  # what to install when it is not
    read: Callable[[str, str, int, Done], None]  # (url, slot, rows, done)

    def version(self) -> str:
        return importlib.metadata.version(self.package)


@dataclass(frozen=True)
class Sample:
    seconds: float
    cpu: float
    walsender: float | None


def read_psycopg3(url: str, slot: str, rows: int, done: Done) -> None:
    """(a) the relay's own stream: connect, START_REPLICATION, read whole transactions."""
    stream = WalChangeStream(url, slot=slot)
    stream.open()
    try:
        deadline = time.monotonic() + READ_TIMEOUT
        got = 0
        while got < rows:
            got += len(stream.read(READ_BATCH, 1.0).events)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{got} of {rows} rows read")
        done()
    finally:
        stream.close()


class Counter:
    """Decodes ``pgoutput`` payloads as the relay's stream does; counts the outbox rows."""

    def __init__(self) -> None:
        self.decoder = EventDecoder(OUTBOX_TABLE)
        self.events = 0

    def take(self, payload: bytes) -> None:
        message = parse_pgoutput(payload)
        if isinstance(message, Insert):
            self.events += self.decoder.event(message) is not None
        elif isinstance(message, Relation):
            self.decoder.add_relation(message)


def read_psycopg2(url: str, slot: str, rows: int, done: Done) -> None:
    """(b) psycopg2's LogicalReplicationConnection, raw payloads, a read_message loop."""
    psycopg2 = importlib.import_module("psycopg2")
    extras = importlib.import_module("psycopg2.extras")
    dsn, network = conninfo(url)
    conn = psycopg2.connect(dsn, connection_factory=extras.LogicalReplicationConnection, **network)
    try:
        cursor = conn.cursor()
        cursor.start_replication(slot_name=slot, decode=False, options=OPTIONS)
        counter = Counter()
        deadline = time.monotonic() + READ_TIMEOUT
        while counter.events < rows:
            message = cursor.read_message()
            if message is not None:
                counter.take(message.payload)
                continue
            if time.monotonic() > deadline:
                raise TimeoutError(f"{counter.events} of {rows} rows read")
            select.select([cursor], [], [], 1.0)
        done()
    finally:
        conn.close()


def read_pg8000(url: str, slot: str, rows: int, done: Done) -> None:  # noqa: ARG001
    """(c) pg8000: a ``replication="database"`` connection running START_REPLICATION.

    pg8000 has no call that hands over a COPY BOTH stream: its ``run`` waits for the
    statement's end. START_REPLICATION is tried as a simple query; whatever it does, it
    returns no stream to read, and the reason is reported."""
    native = importlib.import_module("pg8000.native")
    info = bench_relay.conninfo(url)
    conn = native.Connection(
        info["user"],
        host=info["host"],
        port=info["port"],
        password=info["password"],
        database=info["dbname"],
        replication="database",
        timeout=30,
    )
    try:
        conn.run(START.format(slot=slot))
    except Exception as exc:
        if isinstance(exc, KeyError) and exc.args == (b"W",):
            msg = (
                "START_REPLICATION raised KeyError(b'W'): pg8000 has no handler for the "
                "CopyBothResponse that starts the stream, so it cannot read COPY BOTH (its "
                "replication= connections run the commands that return rows, such as "
                "IDENTIFY_SYSTEM and CREATE_REPLICATION_SLOT)"
            )
        else:
            msg = f"START_REPLICATION raised {type(exc).__name__}: {exc}"
        raise UnusableError(msg) from exc
    finally:
        with suppress(Exception):  # the connection is left mid-protocol
            conn.close()
    msg = "START_REPLICATION returned rows, not a stream to read"
    raise UnusableError(msg)


CANDIDATES = (
    Candidate("(a) psycopg{v}: replication COPY, our framing", "psycopg", "psycopg", read_psycopg3),
    Candidate(
        "(b) psycopg2{v}: LogicalReplicationConnection",
        "psycopg2",
        "psycopg2-binary",
        read_psycopg2,
    ),
    Candidate("(c) pg8000{v}: replication= connection", "pg8000", "pg8000", read_pg8000),
)


def insert_rows(url: str, rows: Sequence[NewOutboxEvent], per_transaction: int) -> None:
    """``rows`` through the services' writer, ``per_transaction`` a transaction. On the
    relay's engine (``synchronous_commit=off``): the log holds the same rows either way,
    and 50,000 durable commits would only make the setup slower."""
    store = open_outbox_store(url, for_relay=True)
    try:
        with store.engine.connect() as conn:
            for start in range(0, len(rows), per_transaction):
                write_outbox_events(
                    conn, store.table, rows[start : start + per_transaction], headers=dict
                )
                conn.commit()
    finally:
        store.engine.dispose()


def walsender_cpu(monitor: "psycopg.Connection[Any]", slot: str) -> float | None:
    row = monitor.execute(
        "SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s", [slot]
    ).fetchone()
    return None if row is None or row[0] is None else bench_relay.proc_cpu(row[0])


def run_once(
    candidate: Candidate, url: str, monitor: "psycopg.Connection[Any]", template: str, rows: int
) -> Sample:
    """One read of the first ``rows`` rows, from a fresh copy of the template slot (dropped
    after)."""
    slot = f"{template.removesuffix('_template')}_{uuid.uuid4().hex[:6]}"
    monitor.execute("SELECT pg_copy_logical_replication_slot(%s, %s)", [template, slot])
    try:
        ends: list[Sample] = []
        started, cpu = time.perf_counter(), time.process_time()

        def done() -> None:
            seconds, used = time.perf_counter() - started, time.process_time() - cpu
            ends.append(Sample(seconds, used, walsender_cpu(monitor, slot)))

        candidate.read(url, slot, rows, done)
        return ends[0]
    finally:
        bench_relay.remove_slot(url, slot)


def measure(url: str, args: argparse.Namespace) -> dict[Candidate, list[Sample] | str]:
    """Per candidate: its samples, or why it was not measured."""
    results: dict[Candidate, list[Sample] | str] = {}
    for candidate in CANDIDATES:
        if importlib.util.find_spec(candidate.module) is None:
            results[candidate] = "not installed: " + INSTALL.format(package=candidate.package)
        else:
            results[candidate] = []
    template = f"bench_repl_{uuid.uuid4().hex[:8]}_template"
    with psycopg.connect(conninfo(url)[0], autocommit=True) as monitor:
        monitor.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", [template])
        rows = bench_relay.backlog("bench.replication", args.rows, args.rows // VERSIONS_PER_USER)
        insert_rows(url, rows, args.per_transaction)
        print(
            f"{len(rows):,} rows inserted, {args.per_transaction} a transaction, "
            "after the template slot was created",
            file=sys.stderr,
        )
        for repeat in range(args.repeats):
            shift = repeat % len(CANDIDATES)
            for candidate in CANDIDATES[shift:] + CANDIDATES[:shift]:
                samples = results[candidate]
                if isinstance(samples, str):
                    continue
                try:
                    if repeat == 0:  # unmeasured: the client's first connection, first reads
                        run_once(candidate, url, monitor, template, min(args.warmup, len(rows)))
                    sample = run_once(candidate, url, monitor, template, len(rows))
                except UnusableError as exc:
                    results[candidate] = f"cannot stream COPY BOTH: {exc}"
                    continue
                samples.append(sample)
                print(
                    f"   run {repeat + 1} {candidate.label.format(v=' ' + candidate.version()):<50}"
                    f" {len(rows) / sample.seconds:>9,.0f} rows/s"
                    f"  CPU {sample.cpu:5.2f} s",
                    file=sys.stderr,
                )
    return results


def per_10k(value: float, rows: int) -> float:
    return value / rows * 10_000


def report(results: dict[Candidate, list[Sample] | str], args: argparse.Namespace) -> None:
    rows = args.rows // VERSIONS_PER_USER * VERSIONS_PER_USER
    print(
        f"\nlogical replication clients: {rows:,} outbox inserts ({args.per_transaction} a "
        f"transaction) from a pgoutput slot ({', '.join(f'{k} {v}' for k, v in OPTIONS.items())}),"
        f"\neach run on a fresh copy of one slot, median of {args.repeats}; rows/s from "
        "connecting to the last row decoded to an outbox event"
    )
    print(f"   {'client':52}{'rows/s':>10}{'client CPU s':>14}{'walsender CPU s':>17}")
    print(f"   {'':52}{'':>10}{'/10k rows':>14}{'/10k rows':>17}")
    figures: dict[str, tuple[float, float]] = {}
    for candidate, samples in results.items():
        installed = importlib.util.find_spec(candidate.module) is not None
        version = f" {candidate.version()}" if installed else ""
        label = candidate.label.format(v=version)
        if isinstance(samples, str):
            reason, _, detail = samples.partition(": ")
            print(f"   {label:52}{reason}:")
            print(textwrap.fill(detail, 96, initial_indent=" " * 7, subsequent_indent=" " * 7))
            continue
        rate = statistics.median(rows / s.seconds for s in samples)
        cpu = statistics.median(per_10k(s.cpu, rows) for s in samples)
        senders = [s.walsender for s in samples]
        sender = (
            f"{statistics.median(per_10k(s, rows) for s in senders if s is not None):>17.3f}"
            if None not in senders
            else f"{'n/a':>17}"
        )
        print(f"   {label:52}{rate:>10,.0f}{cpu:>14.3f}{sender}")
        figures[label[:3]] = (rate, cpu)
    if "(a)" in figures and "(b)" in figures:
        (rate_a, cpu_a), (rate_b, cpu_b) = figures["(a)"], figures["(b)"]
        print(
            f"   (a) / (b): rows/s {rate_a / rate_b:.2f}x, client CPU per row {cpu_a / cpu_b:.2f}x"
        )
    print(
        "   the relay reads with (a): playball_events.outbox.capture_wal_sql, the one module "
        "that speaks the replication protocol"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--per-transaction", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="runs per candidate (median)")
    parser.add_argument(
        "--warmup", type=int, default=2000, help="rows of one unmeasured run per candidate"
    )
    args = parser.parse_args()
    stack = StackSettings()
    with bench_relay.scratch_database(stack.effective_database_url) as url:
        store = open_outbox_store(url)
        store.create_table()  # the table, its notify trigger and its publication
        store.engine.dispose()
        results = measure(url, args)
    report(results, args)


if __name__ == "__main__":
    main()
