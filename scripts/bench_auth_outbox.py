"""What the transactional outbox costs an API write, on SQLite and PostgreSQL.

Run: UV_NO_SYNC=1 python3 -m uv run python scripts/bench_auth_outbox.py [--updates N]
     [--rounds R] [--writers W] [--users U] [--seconds S] [--relay-rows N]
     [--relay-batch N] [--database-url URL]

About 6 minutes with the defaults. The use case measured is ``update_profile`` changing
a user's display name (one transaction: read, UPDATE with the version check, commit).
With the outbox writer installed on the sessions (``user_events_sql.install``, however
the library writes the row), each update also builds the UserUpdated record, encodes
its Avro payload and INSERTs the outbox row; on PostgreSQL the table's trigger then
adds the polling relay's NOTIFY to the commit, but only while no log-based relay
streams from a slot on the database (auth migration 0008). Without it, the sessions
have no flush hook, and the ORM's own flush saves the user: when the writer saves a
profile change itself (its own lean statement), that is another code path, so each
PostgreSQL figure is also measured on the statements alone (the "statements" figures
below). Rounds interleave the variants so machine noise hits them alike; each figure
is the median of --rounds rounds. Printed, in order:

1. The cost in Python alone of one such change: the domain recording the UserUpdated
   record, and its outbox entry (Avro body included).
2. One writer, ms per update (--updates per round): no outbox, outbox, the cost and
   the ratio, for
   - ``sqlite``: a file database;
   - ``postgresql``: today's value: no slot streams, so the trigger notifies, and a
     connection LISTENs on the relay's channel as a polling relay's does;
   - ``pg wal``: log-based capture running: a stand-in relay process streams the
     outbox's inserts from the database's replication slot (``WalChangeStream``, the
     relay's own reader) and confirms each batch as soon as it has read it, so the slot
     never falls behind and the trigger stays silent. Target: <= 1.15x no outbox;
   - ``pg wal del``: the same, the outbox row deleted again in the inserting
     transaction (a flush hook of the benchmark's own, after the writer's: ``DELETE``
     of the user's row at its new version; the log still carries the insert, which the
     stream still reads; the table stays empty);
   - ``pg sql``, ``pg sql wal``, ``pg sql del``: the same three on the statements
     alone: those ``update_profile`` sent through each variant's sessions (recorded
     from the driver's cursors, SQLAlchemy's and the adapters' own), replayed on a plain
     psycopg connection, each transaction with its own versions, display name and event
     id, and each statement that ran alone (no BEGIN, no COMMIT: ``DriverStatement``'s
     ``alone``) alone again. The same SQL, round trips and commits, with little Python
     around them.
   The ratios of each group share one reference, no outbox writer and no relay at all;
   the no-outbox figures with capture streaming are printed below them, then the target
   for both groups. The paths differ in round trips: with the writer, the user's read
   and the commit's one statement (the UPDATE with its outbox row) each run alone, two
   round trips; without it, the read runs alone and the ORM's flush sends BEGIN, its
   UPDATE and COMMIT, four. So the writer's path can be the faster one;
   the row's own cost shows in the database's CPU per transaction (3, below).
3. --writers concurrent writers (8), --seconds per variant (5 s), transactions/s for:
   outbox disabled (the reference); outbox on with no slot streaming (NOTIFY: today's
   value, printed first); outbox on with capture streaming (target: >= 0.9x
   disabled); insert-then-delete with capture streaming; and, for reference, outbox
   disabled with capture streaming. Each writer is a process of its own, started once
   for every variant, with its own engine and connection and its own --users users (no
   row contention). Processes, not threads: in one Python process the GIL runs one
   thread's Python at a time, which caps 8 writers' Python at one core and would make
   the interpreter, not the database, set the rate. Measured twice:
   (a) ``update_profile`` itself, the issue's figure as it names it. The writers'
       Python shares this machine's cores with PostgreSQL and needs several times the
       database's CPU per transaction, so this is the whole write's throughput on the
       machine, not the database's alone;
   (b) its statements alone, replayed as in 2 by the same processes: the database's
       commit throughput, as near as a client on the same cores can measure it.
   Beside each figure: the lowest and highest round; CPU per transaction (ms) of the
   writers, of their PostgreSQL backends, of the walsender streaming the slot (from
   /proc, so only with PostgreSQL on this machine; n/a otherwise) and of the stand-in
   relay; how busy the whole machine was. Then the database's CPU per transaction
   (backends + walsender) and the tx/s ratio it would allow were it the only limit: a
   figure the other loads of a shared machine disturb far less than a rate.
4. Insert-then-delete against rows that stay, under log-based capture. A row that
   stays costs the relay later work: marking it sent (``PostgresOutboxStore.mark_sent``)
   and deleting it after the retention (``cleanup``), timed here per row on the pending
   rows the runs above left (up to --relay-rows), in the relay's batches (--relay-batch
   rows per mark, the first batch untimed, warming the connection; the relay's cleanup
   batches), on the relay's engine, capture streaming. The relay's verdict read of each
   batch (``stream_verdicts``) is printed too, outside the totals. The total per write
   of each design: one writer, its ms per update plus the relay's ms per row (the
   relay's statements keep one backend busy); concurrent writers, the machine's core-ms
   per transaction (cores x 1000 / tx/s: the machine is busy throughout, see its busy
   share) plus the relay's ms per row. Insert-then-delete is "more than 20% faster"
   when rows-stay's total exceeds 1.2x its own in every one of those; the issue keeps
   the rows unless it is.

Targets are printed as met or NOT MET; a miss does not fail the run (the machine is
shared: the ratios within one run are what count).

PostgreSQL: a fresh database on the server of ``--database-url`` (default: the stack's
superuser's URL; the role needs the REPLICATION right for the slot), migrated with the
auth migrations and used as that role throughout. At the end, after an error or Ctrl-C
too, the writer and stand-in processes are stopped, the slot dropped, then the database.
"""

import argparse
import contextlib
import itertools
import multiprocessing
import os
import signal
import statistics
import sys
import tempfile
import time
import timeit
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection as Pipe
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar, Self

import psycopg
from playball_auth.adapters.database_sql import (
    create_database_if_missing,
    make_engine,
    migrate,
)
from playball_auth.adapters.orm_sql import map_user, outbox, users
from playball_auth.adapters.unit_of_work_sql import SqlUnitOfWork
from playball_auth.adapters.user_events_sql import install, outbox_event
from playball_auth.domain.model import User
from playball_auth.service_layer import handlers
from playball_auth.service_layer.ports import PasswordHasher
from playball_events.outbox.capture_wal_sql import (
    WalChangeStream,
    capture_unavailable,
    conninfo,
    drop_slot,
)
from playball_events.outbox.model import OUTBOX_CHANNEL
from playball_events.outbox.ports import OutboxEvent, SlotBusyError, StoreUnavailableError
from playball_events.outbox.relay import RelayConfig
from playball_events.outbox.store_postgres_sql import PostgresOutboxStore, postgres_outbox_engine
from playball_events.settings import with_database
from playball_stack.settings import StackSettings
from sqlalchemy import Engine, delete, event, literal_column, select
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.databases import drop_database_named

TARGET_SINGLE_RATIO = 1.15  # a single update with log-based capture, at most x no outbox
TARGET_WRITERS_RATIO = 0.9  # concurrent writers with log-based capture, at least x disabled
DELETE_RULE = 1.2  # insert-then-delete replaces rows that stay only if this much faster
CATCH_UP_TIMEOUT = 60.0
REPLY_TIMEOUT = 120.0  # a process's answer to a command (creating a slot waits for
# the transactions running on the whole server to end)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# the writers' variants: which flush hook their sessions have
OFF, OUTBOX, DELETE = "off", "outbox", "delete"
# what a relay does on the database meanwhile: a polling one LISTENs, a log-based one streams
LISTEN, CAPTURE = "listen", "capture"


class PlainHasher(PasswordHasher):
    """No argon2 here: its 50+ ms would drown what is measured."""

    def hash(self, password: str) -> str:
        return password

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == password

    def needs_rehash(self, password_hash: str) -> bool:  # noqa: ARG002 - the port
        return False


# -- the writers' sessions ------------------------------------------------------------------


def _delete_written(session: Session, _context: object, _instances: object) -> None:
    """After the outbox writer's flush hook: delete again, in the same transaction, the
    row it wrote for each user the session holds (the user's id at its new version).
    The log keeps the insert; the table stays empty. A flush hook of the benchmark's
    own, so it follows however the library writes the row."""
    held = [obj for obj in session.identity_map.values() if isinstance(obj, User)]
    if held:
        connection = session.connection()
        for user in held:
            connection.execute(
                delete(outbox).where(
                    outbox.c.aggregate_id == str(user.id),
                    outbox.c.aggregate_version == user.version,
                    # a literal, so that even a prepared statement's generic plan may
                    # use the unsent rows' partial index
                    outbox.c.state == literal_column("'pending'"),
                )
            )


def factories(engine: Engine) -> "dict[str, sessionmaker[Session]]":
    """Sessions without the outbox writer, with it, and with it deleting its rows."""
    made = {name: sessionmaker(engine, expire_on_commit=False) for name in (OFF, OUTBOX, DELETE)}
    install(made[OUTBOX])
    install(made[DELETE])
    event.listen(made[DELETE], "before_flush", _delete_written)  # after the writer's
    return made


def register(factory: "sessionmaker[Session]") -> uuid.UUID:
    user = handlers.register_user(
        lambda: SqlUnitOfWork(factory),
        PlainHasher(),
        username=f"bench{uuid.uuid4().hex[:8]}",
        email=f"{uuid.uuid4().hex[:8]}@example.org",
        password="bench password 1",  # noqa: S106 - a benchmark user
        display_name="bench",
    )
    return user.id


def update(factory: "sessionmaker[Session]", user_id: uuid.UUID, number: int) -> None:
    changes = handlers.ProfileChanges(display_name=f"name {number} {uuid.uuid4().hex[:6]}")
    handlers.update_profile(lambda: SqlUnitOfWork(factory), PlainHasher(), user_id, changes)


def per_update_ms(factory: "sessionmaker[Session]", user_id: uuid.UUID, updates: int) -> float:
    started = time.perf_counter()
    for i in range(updates):
        update(factory, user_id, i)
    return (time.perf_counter() - started) * 1000 / updates


def per_replay_ms(
    conn: psycopg.Connection[tuple[Any, ...]],
    recording: "Recording",
    user_id: uuid.UUID,
    updates: int,
) -> float:
    """ms per transaction of ``recording`` replayed (see :func:`replay_one`)."""
    found = conn.execute("SELECT version FROM users WHERE id = %s", [user_id]).fetchone()
    conn.commit()
    if found is None:
        msg = f"no user {user_id}"
        raise RuntimeError(msg)
    version = int(found[0])
    started = time.perf_counter()
    for i in range(updates):
        replay_one(conn, recording, user_id, version + i, i)
    return (time.perf_counter() - started) * 1000 / updates


def row(label: str, without: float, with_: float, note: str) -> None:
    print(
        f"{label:<10} {without:>10.3f} {with_:>10.3f} {with_ - without:>8.3f}"
        f" {with_ / without:>7.2f}   {note}"
    )


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def run_sqlite(engine: Engine, updates: int, rounds: int) -> None:
    map_user()
    migrate(engine)
    made = factories(engine)
    user_id = register(made[OUTBOX])
    variants = {"without": made[OFF], "with": made[OUTBOX]}
    for factory in variants.values():  # warm up pools and caches
        per_update_ms(factory, user_id, 20)
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, factory in variants.items():
            timings[name].append(per_update_ms(factory, user_id, updates))
    b, a = (statistics.median(timings[name]) for name in variants)
    row("sqlite", b, a, f"(median of {rounds} rounds x {updates} updates)")


# -- the relay's stand-in: what a polling or a log-based relay does to the database ---------


def stand_in_main(url: str, slot: str, pipe: Pipe) -> None:
    """A process that LISTENs (``listen``), streams the slot (``capture``), or neither
    (``idle``), as the parent commands; it answers each command with the number of
    events (or notifications) it has received so far, or ``("error", text)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it
    stream = WalChangeStream(url, slot=slot)
    listener: psycopg.Connection[tuple[Any, ...]] | None = None
    mode, received = "idle", 0
    try:
        while True:
            if pipe.poll(None if mode == "idle" else 0):
                command = pipe.recv()
                stream.close()
                if listener is not None:
                    listener.close()
                    listener = None
                if command == "quit":
                    return
                if command == CAPTURE:
                    stream.open()  # creates the slot the first time
                elif command == LISTEN:
                    info, network = conninfo(url)
                    listener = psycopg.connect(info, autocommit=True, **network)
                    listener.execute(f"LISTEN {OUTBOX_CHANNEL}")
                mode = command
                pipe.send(received)
            elif mode == CAPTURE:
                batch = stream.read(10_000, 0.05)
                received += len(batch.events)
                stream.confirm(batch.position)  # at once: the broker is not what is measured
            elif listener is not None:
                received += sum(1 for _ in listener.notifies(timeout=0.05))
    except EOFError:  # the parent is gone
        return
    except Exception as exc:  # reported to the parent, which raises it
        with contextlib.suppress(OSError):
            pipe.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        stream.close()
        if listener is not None:
            listener.close()


def ask(pipe: Pipe, message: object, what: str, timeout: float = REPLY_TIMEOUT) -> Any:
    """Send a command to a child process and return its answer."""
    pipe.send(message)
    if not pipe.poll(timeout):
        msg = f"{what} did not answer {message!r} within {timeout:.0f} s"
        raise RuntimeError(msg)
    try:
        answer = pipe.recv()
    except EOFError as exc:
        msg = f"{what} ended while answering {message!r}"
        raise RuntimeError(msg) from exc
    if isinstance(answer, tuple) and answer and answer[0] == "error":
        msg = f"{what}: {answer[1]}"
        raise RuntimeError(msg)
    return answer


class Monitor:
    """The parent's own connection to the benchmark database: the slot's state, the
    database's backends, and their CPU."""

    def __init__(self, url: str, slot: str) -> None:
        info, network = conninfo(url)
        self.conn: psycopg.Connection[tuple[Any, ...]] = psycopg.connect(
            info, autocommit=True, **network
        )
        self.slot = slot

    def wait_slot(self, *, streaming: bool) -> None:
        """Until a log-based relay streams and has confirmed everything written before
        now (so no catching up runs in a measurement), or until none streams (so the
        trigger notifies again)."""
        target = self.conn.execute("SELECT pg_current_wal_flush_lsn()::text").fetchone()
        deadline = time.monotonic() + CATCH_UP_TIMEOUT
        while time.monotonic() < deadline:
            found = self.conn.execute(
                "SELECT active_pid IS NOT NULL, confirmed_flush_lsn >= %s::pg_lsn"
                " FROM pg_replication_slots WHERE slot_name = %s",
                [target[0] if target else "0/0", self.slot],
            ).fetchone()
            active, caught_up = found if found is not None else (False, False)
            if (active and caught_up) if streaming else not active:
                return
            time.sleep(0.02)
        state = "caught up" if streaming else "idle"
        print(f"   (warning: the slot was not {state} after {CATCH_UP_TIMEOUT:.0f} s)")

    def backends(self) -> dict[int, str]:
        """The database's server processes (but this connection's): pid -> type."""
        rows = self.conn.execute(
            "SELECT pid, backend_type FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        return {int(pid): str(kind) for pid, kind in rows}

    def close(self) -> None:
        self.conn.close()


def cpu_seconds(pid: int, *, postgres: bool = True) -> float | None:
    """User + system CPU of a local process so far; None if there is none (or, with
    ``postgres``, none of a local PostgreSQL server's)."""
    try:
        if postgres and Path(f"/proc/{pid}/comm").read_text().strip() != "postgres":
            return None
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(values[:8])  # guest time is already in user time
    return total - values[3] - values[4], total  # idle and iowait are not busy


# -- concurrent writers --------------------------------------------------------------------


# each statement, its parameters, which of them are the change's own (name -> what), and
# whether it ran alone (autocommit: its own transaction, see playball_events.driver_sql)
Recording = list[tuple[str, dict[str, Any], dict[str, str], bool]]
# USE_CASE: update_profile itself; SQL: the statements it sent, from a lean client
USE_CASE, SQL = "use case", "SQL"


class _RecordingCursor(psycopg.Cursor[Any]):
    """A psycopg cursor that notes what it executes: SQLAlchemy's statements and those
    the auth adapters run on the driver's cursor (``DriverStatement``) alike."""

    seen: ClassVar[list[tuple[str, dict[str, Any], bool]]] = []

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Self:
        type(self).seen.append((str(query), dict(params or {}), self.connection.autocommit))
        return super().execute(query, params, **kwargs)


def recorded(engine: Engine, factory: "sessionmaker[Session]", user_id: uuid.UUID) -> Recording:
    """The statements one ``update_profile`` through ``factory`` sends, as the driver
    gets them (the transaction's BEGIN and COMMIT are the driver's own, and a statement
    run alone has neither), each parameter that is this change's own (the user, its
    versions, the new display name, the event id) marked by what it is, found by its
    value."""
    with engine.connect() as conn:
        version = conn.execute(select(users.c.version).where(users.c.id == user_id)).scalar_one()
    name = f"recorded {uuid.uuid4().hex}"
    _RecordingCursor.seen = []
    # every connection the pool holds records, whichever the use case checks out
    pooled: list[Any] = []

    def record_on(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.cursor_factory = _RecordingCursor
        pooled.append(dbapi_connection)

    event.listen(engine, "checkout", record_on)
    try:
        changes = handlers.ProfileChanges(display_name=name)
        handlers.update_profile(lambda: SqlUnitOfWork(factory), PlainHasher(), user_id, changes)
    finally:
        event.remove(engine, "checkout", record_on)
        for dbapi_connection in pooled:
            dbapi_connection.cursor_factory = psycopg.Cursor
    statements = _RecordingCursor.seen

    def kind(value: Any) -> str | None:
        if isinstance(value, uuid.UUID):
            return "user" if value == user_id else "event"
        if isinstance(value, int) and not isinstance(value, bool) and version > 1:  # not a 0 or 1
            return {version: "read", version + 1: "new"}.get(value)
        return (
            {str(user_id): "user text", name: "name"}.get(value) if isinstance(value, str) else None
        )

    return [
        (
            statement,
            params,
            {key: k for key, v in params.items() if (k := kind(v)) is not None},
            alone,
        )
        for statement, params, alone in statements
    ]


def replay_one(
    conn: psycopg.Connection[tuple[Any, ...]],
    recording: Recording,
    user_id: uuid.UUID,
    version: int,
    number: int,
) -> None:
    """The recorded statements for this user at ``version``, in the recorded transactions
    (those that ran alone, alone; the others in one transaction): what update_profile
    sends, with this change's own user, versions, name and event id."""
    event_id = uuid.uuid4()
    values: dict[str, Any] = {
        "user": user_id,
        "user text": str(user_id),
        "read": version,
        "new": version + 1,
        "event": event_id,
        "name": f"name {number} {event_id.hex[:6]}",
    }
    for statement, params, own, alone in recording:
        if conn.autocommit != alone:
            conn.commit()  # a statement alone comes only before the transaction begins
            conn.autocommit = alone
        with conn.cursor() as cursor:
            cursor.execute(statement, {**params, **{k: values[kind] for k, kind in own.items()}})
            if cursor.description is not None:
                cursor.fetchall()
            elif cursor.rowcount == 0:
                msg = f"a replayed statement changed nothing (user {user_id} at {version}?)"
                raise RuntimeError(msg)
    conn.commit()
    conn.autocommit = False


def writer_main(url: str, own_users: int, pipe: Pipe) -> None:
    """One concurrent writer: registers its own users and records the statements of each
    variant, then runs ``(mode, variant, start, end)`` commands (monotonic times),
    answering each with (transactions done, CPU seconds used)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it
    engine = None
    lean: psycopg.Connection[tuple[Any, ...]] | None = None
    try:
        map_user()
        engine = make_engine(url)
        made = factories(engine)
        mine = [register(made[OUTBOX]) for _ in range(own_users)]
        update(made[OFF], mine[0], 0)  # past version 1: see recorded()
        statements = {name: recorded(engine, factory, mine[0]) for name, factory in made.items()}
        info, network = conninfo(url)
        lean = psycopg.connect(info, **network)
        pipe.send("ready")
        number = 0
        while (command := pipe.recv()) != "quit":
            mode, variant, start, end = command
            versions = dict(
                lean.execute("SELECT id, version FROM users WHERE id = ANY(%s)", [mine]).fetchall()
            )
            lean.commit()
            time.sleep(max(start - time.monotonic(), 0.0))
            cpu, done = time.process_time(), 0
            for user_id in itertools.cycle(mine):
                if time.monotonic() >= end:
                    break
                if mode == USE_CASE:
                    update(made[variant], user_id, number)
                else:
                    replay_one(lean, statements[variant], user_id, versions[user_id], number)
                    versions[user_id] += 1
                number += 1
                done += 1
            pipe.send((done, time.process_time() - cpu))
    except EOFError:  # the parent is gone
        return
    except Exception as exc:  # reported to the parent, which raises it
        with contextlib.suppress(OSError):
            pipe.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        if lean is not None:
            lean.close()
        if engine is not None:
            engine.dispose()


@dataclass(frozen=True)
class Window:
    """One variant's measurement: throughput, and CPU in ms per transaction."""

    tps: float
    client_ms: float  # the writers'
    backend_ms: float | None  # their PostgreSQL backends'
    walsender_ms: float | None  # the walsender's streaming the slot
    relay_ms: float | None  # the stand-in relay's (LISTENing, or reading the stream)
    busy: float  # the machine's busy share of its cores' time
    low: float = 0.0  # a median's lowest and highest round, tx/s
    high: float = 0.0


def measure_writers(
    pipes: Sequence[Pipe],
    monitor: Monitor,
    mode: str,
    variant: str,
    seconds: float,
    *,
    relay: int,
) -> Window:
    """Run the writers for ``seconds``; ``relay``: the stand-in relay's pid."""
    backends = monitor.backends()
    before = {pid: cpu_seconds(pid) for pid in backends}
    relay_before = cpu_seconds(relay, postgres=False)
    start = time.monotonic() + 0.3  # every writer has its command by then
    for pipe in pipes:
        pipe.send((mode, variant, start, start + seconds))
    time.sleep(max(start - time.monotonic(), 0.0))
    busy0, total0 = machine_ticks()
    answers: list[tuple[int, float]] = []
    for index, pipe in enumerate(pipes):
        if not pipe.poll(seconds + REPLY_TIMEOUT):
            msg = f"writer {index} did not finish its {mode} {variant} run"
            raise RuntimeError(msg)
        answer = pipe.recv()
        if isinstance(answer, tuple) and answer[0] == "error":
            msg = f"writer {index}: {answer[1]}"
            raise RuntimeError(msg)
        answers.append((int(answer[0]), float(answer[1])))
    busy1, total1 = machine_ticks()
    relay_after = cpu_seconds(relay, postgres=False)
    done = sum(n for n, _ in answers)
    per_tx = 1000 / max(done, 1)

    def backend_ms(walsender: bool) -> float | None:
        """Their CPU per transaction; a process that ended meanwhile (an autovacuum
        worker, say) is left out. None: not a local server."""
        used, seen = 0.0, False
        for pid, kind in backends.items():
            was = before[pid]
            if (kind == "walsender") != walsender or was is None:
                continue
            seen = True
            after = cpu_seconds(pid)
            used += 0.0 if after is None else after - was
        return used * per_tx if seen or walsender else None

    relay_ms = None
    if relay_before is not None and relay_after is not None:
        relay_ms = (relay_after - relay_before) * per_tx
    return Window(
        tps=done / seconds,
        client_ms=sum(cpu for _, cpu in answers) * per_tx,
        backend_ms=backend_ms(walsender=False),
        walsender_ms=backend_ms(walsender=True) if before else None,
        relay_ms=relay_ms,
        busy=(busy1 - busy0) / max(total1 - total0, 1),
    )


# -- the relay's later work on rows that stay -------------------------------------------------


@dataclass(frozen=True)
class RelayCosts:
    """ms per row of the log-based relay's statements on rows that stay."""

    rows: int
    verdict_ms: float
    removal_ms: float  # the acked rows deleted: they never reach the cleanup

    @property
    def later_ms(self) -> float:
        return self.removal_ms


def relay_costs(url: str, rows: int, batch: int) -> RelayCosts | None:
    """Time the relay's verdict read and its removal of the acked rows on ``batch``-row
    batches of the pending rows, on the engine the relay runs on; None: no rows."""
    store = PostgresOutboxStore(postgres_outbox_engine(url, for_relay=True))
    try:
        o = store.table
        with store.engine.connect() as conn:
            found = conn.execute(
                select(o, literal_column("xmin::text::bigint").label("xid"))
                .where(o.c.state == "pending")
                .order_by(o.c.seq)
                .limit(rows)
            ).all()
        xids = {r.seq: r.xid for r in found}
        events = [
            OutboxEvent(
                seq=r.seq,
                event_id=r.event_id,
                aggregate_id=r.aggregate_id,
                aggregate_version=r.aggregate_version,
                record_type=r.record_type,
                topic=r.topic,
                subject=r.subject,
                payload=bytes(r.payload),
                schema_fingerprint=r.schema_fingerprint,
                headers=dict(r.headers),
                created_at=r.created_at,
                attempts=r.attempts,
            )
            for r in found
        ]
        whole = len(events) - len(events) % batch
        chunks = [events[start : start + batch] for start in range(0, whole, batch)]
        if not chunks:
            return None
        if len(chunks) > 1:  # the relay is a long-lived process: its connection is warm
            warm = chunks.pop(0)
            store.stream_verdicts([e.seq for e in warm], [xids[e.seq] for e in warm])
            store.remove_streamed(warm)
        timed = len(chunks) * batch
        verdicts = removals = 0.0
        for chunk in chunks:
            t0 = time.perf_counter()
            store.stream_verdicts([e.seq for e in chunk], [xids[e.seq] for e in chunk])
            t1 = time.perf_counter()
            store.remove_streamed(chunk)
            removals += time.perf_counter() - t1
            verdicts += t1 - t0
        return RelayCosts(
            rows=timed,
            verdict_ms=verdicts * 1000 / timed,
            removal_ms=removals * 1000 / timed,
        )
    finally:
        store.engine.dispose()


# -- PostgreSQL ------------------------------------------------------------------------------


class Bench:
    """The PostgreSQL part: one database, its slot, the stand-in and the writers."""

    def __init__(self, url: str, slot: str, args: argparse.Namespace) -> None:
        self.url = url
        self.slot = slot
        self.args = args
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[tuple[BaseProcess, Pipe]] = []
        self.stand_in: Pipe | None = None
        self.monitor: Monitor | None = None
        self.situation = "idle"
        self.single_ms: dict[tuple[str, str], float] = {}
        self.stand_in_pid = 0

    def start(self, target: Callable[..., None], *args: object) -> Pipe:
        ours, theirs = self.context.Pipe()
        process = self.context.Process(target=target, args=(*args, theirs), daemon=True)
        process.start()
        theirs.close()
        self.processes.append((process, ours))
        return ours

    def relay(self, situation: str) -> None:
        """Make the stand-in relay LISTEN or stream, and wait until that holds."""
        if self.stand_in is None or self.monitor is None:
            msg = "the stand-in relay is not running"
            raise RuntimeError(msg)
        if situation == self.situation:
            return
        ask(self.stand_in, situation, "the stand-in relay")
        self.monitor.wait_slot(streaming=situation == CAPTURE)
        self.situation = situation

    def run(self) -> None:
        map_user()
        engine = make_engine(self.url)
        try:
            migrate(engine)
            reason = capture_unavailable(self.url)
            if reason is not None:
                msg = f"log-based capture cannot run here: {reason}"
                raise RuntimeError(msg)
            self.monitor = Monitor(self.url, self.slot)
            self.stand_in = self.start(stand_in_main, self.url, self.slot)
            self.stand_in_pid = self.processes[-1][0].pid or 0
            self.single(engine)
            windows = self.concurrent()
            costs = relay_costs(self.url, self.args.relay_rows, self.args.relay_batch)
            self.compare(costs, windows)
        finally:
            engine.dispose()

    # 2. one writer

    def single(self, engine: Engine) -> None:
        args = self.args
        made = factories(engine)
        user_id = register(made[OUTBOX])
        for factory in made.values():  # warm up pools and caches, and past version 1
            per_update_ms(factory, user_id, 20)
        recordings = {name: recorded(engine, factory, user_id) for name, factory in made.items()}
        info, network = conninfo(self.url)
        with psycopg.connect(info, **network) as lean:

            def measure(mode: str, sessions: str) -> float:
                if mode == USE_CASE:
                    return per_update_ms(made[sessions], user_id, args.updates)
                return per_replay_ms(lean, recordings[sessions], user_id, args.updates)

            # (situation, mode, sessions), the no-slot ones first in each round
            variants = {
                ("poll", "without"): (LISTEN, USE_CASE, OFF),
                ("poll", "with"): (LISTEN, USE_CASE, OUTBOX),
                ("poll", "sql without"): (LISTEN, SQL, OFF),
                ("poll", "sql with"): (LISTEN, SQL, OUTBOX),
                ("wal", "without"): (CAPTURE, USE_CASE, OFF),
                ("wal", "with"): (CAPTURE, USE_CASE, OUTBOX),
                ("wal", "delete"): (CAPTURE, USE_CASE, DELETE),
                ("wal", "sql without"): (CAPTURE, SQL, OFF),
                ("wal", "sql with"): (CAPTURE, SQL, OUTBOX),
                ("wal", "sql delete"): (CAPTURE, SQL, DELETE),
            }
            timings: dict[tuple[str, str], list[float]] = {name: [] for name in variants}
            for _ in range(args.rounds):
                for name, (situation, mode, sessions) in variants.items():
                    self.relay(situation)
                    timings[name].append(measure(mode, sessions))
        ms = {name: statistics.median(values) for name, values in timings.items()}
        self.single_ms = ms
        base, sql = ms["poll", "without"], ms["poll", "sql without"]
        note = f"(median of {args.rounds} rounds x {args.updates} updates)"
        row("postgresql", base, ms["poll", "with"], f"{note}; today: no slot, NOTIFY")
        row("pg wal", base, ms["wal", "with"], "log-based capture streaming")
        row("pg wal del", base, ms["wal", "delete"], "capture, row deleted in the transaction")
        row("pg sql", sql, ms["poll", "sql with"], "its statements, lean client; today")
        row("pg sql wal", sql, ms["wal", "sql with"], "its statements, capture streaming")
        row("pg sql del", sql, ms["wal", "sql delete"], "its statements, capture, row deleted")
        print(
            "   no outbox with capture streaming:"
            f" {ms['wal', 'without']:.3f} ms/update ({ms['wal', 'without'] / base:.2f}x),"
            f" its statements {ms['wal', 'sql without']:.3f} ms"
            f" ({ms['wal', 'sql without'] / sql:.2f}x)"
        )
        for label, ratio in (
            ("update_profile", ms["wal", "with"] / base),
            ("its statements", ms["wal", "sql with"] / sql),
        ):
            print(
                f"   target: an update with log-based capture <= {TARGET_SINGLE_RATIO:.2f}x"
                f" no outbox, {label}: {ratio:.3f}x  {verdict(ratio <= TARGET_SINGLE_RATIO)}"
            )

    # 3. concurrent writers

    def concurrent(self) -> dict[str, dict[str, Window]]:
        """Each mode's median windows, by variant."""
        args = self.args
        if self.monitor is None:
            msg = "no monitor"
            raise RuntimeError(msg)
        pipes = [self.start(writer_main, self.url, args.users) for _ in range(args.writers)]
        for index, pipe in enumerate(pipes):
            if not pipe.poll(REPLY_TIMEOUT):
                msg = f"writer {index} did not start"
                raise RuntimeError(msg)
            answer = pipe.recv()
            if answer != "ready":
                msg = f"writer {index}: {answer}"
                raise RuntimeError(msg)
        # (relay situation, writers' sessions), the no-slot ones first in each round
        variants = {
            "disabled": (LISTEN, OFF),
            "notify": (LISTEN, OUTBOX),
            "disabled wal": (CAPTURE, OFF),
            "wal": (CAPTURE, OUTBOX),
            "wal delete": (CAPTURE, DELETE),
        }
        runs = [(mode, name) for mode in (USE_CASE, SQL) for name in variants]
        relay = self.stand_in_pid
        for mode, name in runs:  # warm up, unmeasured
            situation, sessions = variants[name]
            self.relay(situation)
            measure_writers(pipes, self.monitor, mode, sessions, 1.0, relay=relay)
        windows: dict[tuple[str, str], list[Window]] = {run: [] for run in runs}
        for _ in range(args.rounds):
            for mode, name in runs:
                situation, sessions = variants[name]
                self.relay(situation)
                window = measure_writers(
                    pipes, self.monitor, mode, sessions, args.seconds, relay=relay
                )
                windows[mode, name].append(window)
        for pipe in pipes:
            pipe.send("quit")
        medians: dict[str, dict[str, Window]] = {USE_CASE: {}, SQL: {}}
        for (mode, name), values in windows.items():
            medians[mode][name] = median_window(values)
        print_concurrent(medians, args)
        return medians

    # 4. insert-then-delete against rows that stay

    def compare(self, costs: RelayCosts | None, medians: dict[str, dict[str, Window]]) -> None:
        args = self.args
        print(
            f"\nthe relay's later work per row that stays (log-based relay, capture streaming,"
            f" {args.relay_batch:,}-row batches)"
        )
        if costs is None:
            print(f"   fewer than {args.relay_batch:,} pending rows: not measured")
            return
        print(
            f"   acked rows removed (DELETE) {costs.removal_ms * 1000:7.1f} µs/row"
            "   (nothing is left for the cleanup)"
        )
        print(
            f"   verdict read (SELECT)   {costs.verdict_ms * 1000:7.1f} µs/row"
            "   (its check of each batch read from the log; not in the totals)"
        )
        print(f"   over {costs.rows:,} rows")
        cores = os.cpu_count() or 1
        single = self.single_ms
        totals = {"one writer, ms/update": (single["wal", "with"], single["wal", "delete"])}
        for mode, label in ((USE_CASE, "use case"), (SQL, "SQL")):
            windows = medians[mode]
            totals[f"{args.writers} writers ({label}), core-ms/tx"] = (
                cores * 1000 / windows["wal"].tps,
                cores * 1000 / windows["wal delete"].tps,
            )
        print("\ninsert-then-delete against rows that stay, per write (log-based capture)")
        print(
            f"   {'':<34} {'rows stay: write + relay later =  total':>40}"
            f" {'delete':>8}  rows stay / delete"
        )
        faster = []
        for label, (stay, gone) in totals.items():
            total = stay + costs.later_ms
            faster.append(total / gone > DELETE_RULE)
            print(
                f"   {label:<34} {stay:>17.3f} + {costs.later_ms:>6.3f} = {total:>6.3f}"
                f" {gone:>8.3f}  {total / gone:>6.2f}x"
            )
        decided = all(faster)
        print(
            f"   insert-then-delete more than {DELETE_RULE - 1:.0%} faster (in each):"
            f" {'yes' if decided else 'no'}"
            f" -> {'delete in the inserting transaction' if decided else 'the rows stay'}"
        )

    def close(self) -> None:
        """Stop every process, then the slot: whatever state the run ended in."""
        for _, pipe in self.processes:
            with contextlib.suppress(OSError, ValueError):
                pipe.send("quit")
        for process, pipe in self.processes:
            process.join(10)
            if process.is_alive():
                process.terminate()
                process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
            pipe.close()
        self.processes.clear()
        if self.monitor is not None:
            self.monitor.close()
        # one still streaming, or a server gone: drop_database_named tries again
        with contextlib.suppress(SlotBusyError, StoreUnavailableError, psycopg.Error):
            drop_slot(self.url, self.slot)


def median_window(windows: Sequence[Window]) -> Window:
    def median(values: Sequence[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return statistics.median(known) if len(known) == len(values) else None

    return Window(
        tps=statistics.median(w.tps for w in windows),
        client_ms=statistics.median(w.client_ms for w in windows),
        backend_ms=median([w.backend_ms for w in windows]),
        walsender_ms=median([w.walsender_ms for w in windows]),
        relay_ms=median([w.relay_ms for w in windows]),
        busy=statistics.median(w.busy for w in windows),
        low=min(w.tps for w in windows),
        high=max(w.tps for w in windows),
    )


CONCURRENT_LABELS = {
    "disabled": "outbox disabled (reference)",
    "notify": "outbox on, no slot: NOTIFY (today)",
    "wal": "outbox on, log-based capture",
    "wal delete": "outbox on, capture, insert-then-delete",
    "disabled wal": "outbox disabled, capture streaming",
}
MODE_TITLES = {
    USE_CASE: "(a) update_profile itself: the writers' Python shares the cores with PostgreSQL",
    SQL: "(b) the statements update_profile sent, replayed by a lean psycopg client:"
    " the database's commit throughput",
}


def print_concurrent(medians: dict[str, dict[str, Window]], args: argparse.Namespace) -> None:
    print(
        f"\n{args.writers} concurrent writers, a process each (own connection, own users),"
        f" median of {args.rounds} rounds x {args.seconds:g} s"
    )

    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    for mode, median in medians.items():
        print(f" {MODE_TITLES[mode]}")
        print(
            f"   {'':<40} {'tx/s':>6} {'(rounds)':>11} {'x disabled':>10}   CPU ms/tx:"
            f" {'writers':>7} {'backends':>8} {'walsender':>9} {'relay':>6}   machine busy"
        )
        base = median["disabled"].tps
        for name, label in CONCURRENT_LABELS.items():
            w = median[name]
            spread = f"{w.low:,.0f}-{w.high:,.0f}"
            print(
                f"   {label:<40} {w.tps:>6,.0f} {spread:>11} {w.tps / base:>10.2f}   {'':>10}"
                f" {w.client_ms:>7.3f} {ms(w.backend_ms):>8} {ms(w.walsender_ms):>9}"
                f" {ms(w.relay_ms):>6} {w.busy:>14.0%}"
            )
        today = median["notify"].tps / base
        ratio = median["wal"].tps / base
        print(f"   today (outbox on, NOTIFY): {today:.2f}x disabled")
        print(
            f"   target: outbox on with log-based capture >= {TARGET_WRITERS_RATIO:.1f}x"
            f" disabled: {ratio:.3f}x  {verdict(ratio >= TARGET_WRITERS_RATIO)}"
        )
        work = {name: database_ms(median[name]) for name in ("disabled", "notify", "wal")}
        if all(value is not None for value in work.values()):
            reference = work["disabled"] or 1.0
            print(
                "   the database's CPU per transaction (backends + walsender), and the"
                " tx/s ratio it would allow were it the only limit:\n     disabled"
                f" {reference:.3f} ms; NOTIFY {work['notify']:.3f} ms"
                f" ({reference / (work['notify'] or 1.0):.2f}x); capture"
                f" {work['wal']:.3f} ms ({reference / (work['wal'] or 1.0):.2f}x)"
            )


def database_ms(window: Window) -> float | None:
    if window.backend_ms is None or window.walsender_ms is None:
        return None
    return window.backend_ms + window.walsender_ms


# -- Python alone ------------------------------------------------------------------------------


def entry_cost_us(number: int) -> float:
    user = User.register(
        username="alice",
        email="a@example.org",
        password_hash="x",  # noqa: S106 - never checked
        display_name="Alice",
        now=datetime.now(UTC),
    )
    now = datetime.now(UTC)
    names = itertools.cycle(("Alicia", "Alice"))  # each call a real change

    def call() -> object:
        user.change_display_name(next(names), now)
        return outbox_event(user.events.pop())

    return min(timeit.repeat(call, number=number, repeat=5)) / number * 1e6


@contextlib.contextmanager
def interrupted_by_sigterm() -> Iterator[None]:
    """SIGTERM ends the run as Ctrl-C does: through the clean-up."""

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def drop(server_url: str, name: str) -> None:
    info, network = conninfo(with_database(server_url, "postgres"))
    with psycopg.connect(info, autocommit=True, **network) as admin:
        drop_database_named(admin, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=300, help="per round, one writer")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--users", type=int, default=20, help="each writer's own users")
    parser.add_argument("--seconds", type=float, default=5.0, help="per writers' variant")
    parser.add_argument("--relay-rows", type=int, default=20_000)
    parser.add_argument("--relay-batch", type=int, default=RelayConfig().batch_size)
    parser.add_argument("--database-url", default=StackSettings().effective_database_url)
    args = parser.parse_args()

    print(f"recording one change and its outbox entry: {entry_cost_us(20000):.1f} µs")
    header = ("database", "no outbox", "outbox", "cost", "ratio")
    print("{:<10} {:>10} {:>10} {:>8} {:>7}  ms/update".format(*header))
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            run_sqlite(engine, args.updates, args.rounds)
        finally:
            engine.dispose()

    name = f"playball_auth_bench_{uuid.uuid4().hex[:8]}"
    url = with_database(args.database_url, name)
    with interrupted_by_sigterm():
        create_database_if_missing(url)
        bench = Bench(url, f"playball_outbox_{name}", args)
        try:
            bench.run()
        finally:
            try:
                bench.close()
            finally:
                drop(args.database_url, name)


if __name__ == "__main__":
    main()
