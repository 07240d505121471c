"""The log-based relay's link to PostgreSQL: a logical replication slot read with psycopg 3.

The one module that speaks the replication protocol. psycopg 3 (already the services'
driver) opens the connection in replication mode and hands over libpq's COPY BOTH
stream; the framing (XLogData, keepalives, status updates) and the ``pgoutput`` messages
are :mod:`.pgoutput`'s. Measured against psycopg2's ``LogicalReplicationConnection`` and
pg8000 in ``scripts/bench_replication_clients.py`` (figures in docs/outbox-relay.md).

The slot (``PLAYBALL_RELAY_SLOT``, default ``playball_outbox_<database>``) uses the ``pgoutput``
plugin over the publication ``playball_outbox`` (the auth migration 0008: the outbox's
inserts only). The relay creates the slot when it is missing. What it reads is the
outbox's committed inserts, in commit order: whole transactions, or a transaction too
large to hold at once in parts (see :class:`WalChangeStream`); it confirms a position
only once everything before it is settled, so the server resends the rest after any
reconnect or crash.
"""

import re
import select
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from playball_core.exits import ConfigurationError
from psycopg import pq
from sqlalchemy import make_url

from playball_events.outbox.pgoutput import (
    Begin,
    Commit,
    EventDecoder,
    Insert,
    Keepalive,
    Message,
    Relation,
    parse_copy_data,
    standby_status,
)
from playball_events.outbox.ports import (
    CapturedBatch,
    ChangeStream,
    OutboxEvent,
    SlotBusyError,
    SlotLostError,
    SlotMonitor,
    SlotStatus,
    StoreUnavailableError,
)
from playball_events.outbox.store_sql import utcnow
from playball_events.outbox.table_sql import OUTBOX_TABLE, publication_name
from playball_events.postgres_network import network_connect_args

# PostgreSQL's own rule for slot names; checked before a name reaches a statement
SLOT_NAME = re.compile(r"^[a-z0-9_]{1,63}$")
# A status update at least this often, whatever else happens: the server ends a
# replication connection silent for wal_sender_timeout (60 s by default).
STATUS_INTERVAL = 10.0
_OBJECT_IN_USE = "55006"  # the slot is active for another process
# how a relay's look at its slot shows in pg_stat_activity
MONITOR_NAME = "playball relay: slot monitor"
SLOT_RELEASE_POLL = 0.05  # seconds between looks at a slot waited for (drop_slot's patience)
# Events of one transaction read before its part is handed over: the relay's memory for a
# transaction of any size (a backfill writing an event for every user in one statement).
TRANSACTION_PART = 20_000


def conninfo(url: str) -> tuple[str, dict[str, Any]]:
    """libpq's connection string for a SQLAlchemy URL, and the network bounds it lacks."""
    parsed = make_url(url)
    plain = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return plain, network_connect_args(parsed.query)


def _connect(url: str, **extra: Any) -> psycopg.Connection[tuple[Any, ...]]:
    info, network = conninfo(url)
    try:
        return psycopg.connect(info, autocommit=True, **network, **extra)
    except psycopg.OperationalError as exc:
        raise StoreUnavailableError(str(exc).strip().splitlines()[0]) from exc


_SLOT_STATUS = """
SELECT active_pid, wal_status,
       pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint,
       pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint
FROM pg_replication_slots WHERE slot_name = %s
"""


def slot_status(url: str, slot: str) -> SlotStatus | None:
    """The slot as pg_replication_slots reports it; None when there is no such slot."""
    with _connect(url) as conn:
        return _read_slot(conn, slot)


def _read_slot(conn: psycopg.Connection[tuple[Any, ...]], slot: str) -> SlotStatus | None:
    row = conn.execute(_SLOT_STATUS, [slot]).fetchone()
    if row is None:
        return None
    active_pid, wal_status, lag, retained = row
    return SlotStatus(slot, active_pid, wal_status or "lost", lag, retained)


def drop_slot(url: str, slot: str, *, patience: float = 0.0) -> bool:
    """Drop an idle slot; False when there is none. Raises :class:`SlotBusyError` when a
    relay streams from it (stop that relay first) for longer than ``patience`` seconds:
    a stream closed just now leaves its slot only once its walsender notices, a few
    milliseconds later, so whoever closed it waits that long."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return _drop_idle_slot(url, slot)
        except SlotBusyError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(SLOT_RELEASE_POLL)


def _drop_idle_slot(url: str, slot: str) -> bool:
    with _connect(url) as conn:
        row = conn.execute(
            "SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s", [slot]
        ).fetchone()
        if row is None:
            return False
        if row[0] is not None:
            raise SlotBusyError(slot, row[0])
        try:
            conn.execute("SELECT pg_drop_replication_slot(%s)", [slot])
        except psycopg.errors.ObjectInUse as exc:  # a relay took it in between
            raise SlotBusyError(slot, None) from exc
    return True


def capture_unavailable(url: str, table: str = OUTBOX_TABLE) -> str | None:
    """Why log-based capture cannot run on this database (None: it can)."""
    with _connect(url) as conn:
        row = conn.execute(
            "SELECT current_setting('wal_level'), rolreplication OR rolsuper, current_user,"
            " EXISTS (SELECT 1 FROM pg_publication WHERE pubname = %s)"
            " FROM pg_roles WHERE rolname = current_user",
            [publication_name(table)],
        ).fetchone()
    if row is None:  # cannot happen: the session's own role
        return "the database did not describe the relay's role"
    wal_level, may_replicate, role, published = row
    if wal_level != "logical":
        return f"the server runs with wal_level={wal_level}, not logical"
    if not may_replicate:
        return f"the role {role} lacks the REPLICATION right"
    if not published:
        return (
            f"the publication {publication_name(table)} does not exist "
            "(run the service's migrations: `playball auth migrate`)"
        )
    return None


@dataclass(slots=True)
class _Reading:
    """One :meth:`WalChangeStream.read` in progress."""

    events: list[OutboxEvent] = field(default_factory=list)  # whole transactions (and a part)
    xids: list[int] = field(default_factory=list)  # each event's transaction
    transaction: list[OutboxEvent] = field(default_factory=list)  # the one being read
    in_transaction: bool = False  # as the read before left it, when it ended inside one
    xid: int = 0  # the one being read's
    last_commit: datetime | None = None
    caught_up: bool = False  # a keepalive said the server has sent everything decoded


class PgSlotMonitor(SlotMonitor):
    """Looks at the slot over one connection, kept between looks: a standby looks every
    second, and a connection costs each side a few milliseconds of CPU (its start, the
    password exchange) where the query costs a twentieth of one."""

    def __init__(self, url: str, slot: str) -> None:
        self.url = url
        self.slot = slot
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None

    def status(self) -> SlotStatus | None:
        if self._conn is not None:
            try:
                return _read_slot(self._conn, self.slot)
            except psycopg.OperationalError:
                self.close()  # gone (a server restart, an idle timeout): once more, anew
        self._conn = _connect(self.url, application_name=MONITOR_NAME)  # or unavailable
        try:
            return _read_slot(self._conn, self.slot)
        except psycopg.OperationalError as exc:
            self.close()
            raise StoreUnavailableError(str(exc).strip().splitlines()[0]) from exc

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


UUID_OID, TIMESTAMPTZ_OID = 2950, 1184


def _driver_decoders() -> dict[int, Callable[[bytes], Any]]:
    """psycopg's compiled loaders for the outbox's uuid and timestamptz columns: pgoutput's
    binary values are those types' send formats, which these parse in C, several times
    faster than :mod:`pgoutput`'s Python (0.10 against 0.87 µs per uuid, 0.14 against
    0.63 per timestamp). Without a connection the timestamps come in UTC, as pgoutput's."""
    transformer = psycopg.adapt.Transformer()
    return {
        oid: transformer.get_loader(oid, pq.Format.BINARY).load
        for oid in (UUID_OID, TIMESTAMPTZ_OID)
    }


DRIVER_DECODERS = _driver_decoders()


class WalChangeStream(ChangeStream):
    """The outbox's inserts from the slot, decoded, in whole transactions; a transaction of
    more than ``part_size`` events in parts of that many.

    A part can be sent before its transaction's commit is read: ``pgoutput`` (without its
    ``streaming`` option, which this stream does not ask for) sends a transaction only once
    it has committed. A part's position is the end of the last whole transaction before
    it, so nothing of its transaction is confirmed before all of it is settled; after a
    reconnect the server sends it whole again, and the rows sent already are recognised.
    """

    def __init__(
        self,
        url: str,
        *,
        slot: str,
        table: str = OUTBOX_TABLE,
        part_size: int = TRANSACTION_PART,
        now: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not SLOT_NAME.match(slot):
            msg = f"slot name {slot!r}: lower-case letters, digits and _ only, at most 63"
            raise ValueError(msg)
        if part_size < 1:
            msg = f"part_size {part_size}: at least one event"
            raise ValueError(msg)
        self.url = url
        self.slot = slot
        self.table = table
        self.part_size = part_size
        self._now = now
        self._monotonic = monotonic
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self._decoder = EventDecoder(table, decoders=DRIVER_DECODERS)
        self._read_to = 0  # everything up to here was read (a commit's end, an idle keepalive)
        self._confirmed = 0
        self._next_status = 0.0
        # the transaction a read ended inside (after a part of it): the next goes on with it
        self._in_transaction, self._xid = False, 0

    # -- opening ------------------------------------------------------------------------

    def open(self) -> bool:
        self.close()
        created = self._ensure_slot()
        conn = _connect(self.url, replication="database")
        try:
            self._start(conn.pgconn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        # a new session describes relations anew
        self._decoder = EventDecoder(self.table, decoders=DRIVER_DECODERS)
        # the server resends from the confirmed position: what the last session read past
        # it was never settled, and must not be confirmed on the strength of that session
        self._read_to = self._confirmed
        self._next_status = 0.0
        self._in_transaction, self._xid = False, 0  # the server starts at a transaction
        return created

    def _ensure_slot(self) -> bool:
        with _connect(self.url) as conn:
            row = conn.execute(
                "SELECT wal_status, active_pid, database = current_database(), plugin"
                " FROM pg_replication_slots WHERE slot_name = %s",
                [self.slot],
            ).fetchone()
            if row is None:
                try:
                    conn.execute(
                        "SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", [self.slot]
                    )
                except psycopg.errors.DuplicateObject:  # another relay created it just now
                    return False
                return True
        wal_status, active_pid, here, plugin = row
        if not here or plugin != "pgoutput":
            msg = (
                f"replication slot {self.slot!r} belongs to another database or plugin "
                f"({plugin}): set PLAYBALL_RELAY_SLOT to a name of this relay's own"
            )
            raise ConfigurationError(msg)
        if wal_status == "lost":
            raise SlotLostError(self._lost_message())
        if active_pid is not None:
            raise SlotBusyError(self.slot, active_pid)
        return False

    def _lost_message(self) -> str:
        return (
            f"replication slot {self.slot!r} is lost: the server removed log it still "
            "needed (it held more than max_slot_wal_keep_size). Events committed since its "
            "position cannot be read from the log any more. Drop it with `playball auth "
            "outbox slot drop --yes` and start the relay again (a new slot starts by "
            "sending every unsent row from the table), or run the polling relay "
            "(`playball auth relay --capture poll`)"
        )

    def _start(self, pgconn: pq.abc.PGconn) -> None:
        publication = publication_name(self.table)
        pgconn.send_query(
            f"START_REPLICATION SLOT {self.slot} LOGICAL 0/0 (proto_version '1', "
            f"publication_names '{publication}', binary 'true')".encode()
        )
        while True:
            self._flush(pgconn)
            pgconn.consume_input()
            if not pgconn.is_busy():
                break
            select.select([pgconn.socket], [], [], 1.0)
        result = pgconn.get_result()
        if result is None:
            raise StoreUnavailableError(pgconn.get_error_message())
        if result.status == pq.ExecStatus.COPY_BOTH:
            return
        message = (result.error_message or b"").decode(errors="replace").strip()
        state = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
        if state == _OBJECT_IN_USE:
            raise SlotBusyError(self.slot, None)
        status = slot_status(self.url, self.slot)
        if status is not None and status.wal_status == "lost":
            raise SlotLostError(self._lost_message())
        raise StoreUnavailableError(f"START_REPLICATION failed: {message}")

    # -- reading ------------------------------------------------------------------------

    def read(self, max_events: int, timeout: float) -> CapturedBatch:
        if self._conn is None:
            raise StoreUnavailableError("the replication stream is not open")
        pgconn = self._conn.pgconn
        batch = _Reading(in_transaction=self._in_transaction, xid=self._xid)
        deadline = self._monotonic() + timeout
        frame_event = self._decoder.frame_event  # once per event: bound once
        part_size = self.part_size
        try:
            while len(batch.events) < max_events and len(batch.transaction) < part_size:
                size, data = pgconn.get_copy_data(1)
                if size > 0:
                    frame = bytes(data)
                    event = frame_event(frame)  # most frames: an outbox insert, read at once
                    if event is not None:
                        batch.transaction.append(event)
                    else:
                        self._take(pgconn, parse_copy_data(frame)[1], batch)
                    continue
                if size < 0:
                    self._ended(pgconn)
                # nothing buffered: return what is whole, or wait for more
                left = deadline - self._monotonic()
                if not batch.in_transaction and (batch.events or left <= 0):
                    break
                self._status_if_due(pgconn)
                # inside a transaction its rest is on the way: wait for it whatever the
                # deadline (the server's keepalives keep arriving meanwhile)
                select.select([pgconn.socket], [], [], max(left, 0.0) or 1.0)
                pgconn.consume_input()
            self._status_if_due(pgconn)
        except psycopg.OperationalError as exc:
            self.close()
            raise StoreUnavailableError(str(exc).strip().splitlines()[0]) from exc
        if batch.transaction:  # a part of a large transaction: committed, its end to come
            batch.events.extend(batch.transaction)
            batch.xids.extend([batch.xid] * len(batch.transaction))
        self._in_transaction, self._xid = batch.in_transaction, batch.xid
        lag: float | None = None
        if batch.last_commit is not None:
            lag = max((self._now() - batch.last_commit).total_seconds(), 0.0)
        elif batch.caught_up:
            lag = 0.0
        return CapturedBatch(batch.events, self._read_to, lag, batch.xids)

    def _take(self, pgconn: pq.abc.PGconn, message: Message, batch: "_Reading") -> None:
        """One message of the stream into the batch being read."""
        if isinstance(message, Insert):
            event = self._decoder.event(message)
            if event is not None:
                batch.transaction.append(event)
        elif isinstance(message, Begin):
            batch.in_transaction = True
            batch.xid = message.xid
        elif isinstance(message, Commit):
            batch.in_transaction = False
            batch.events.extend(batch.transaction)
            batch.xids.extend([batch.xid] * len(batch.transaction))
            batch.transaction = []
            self._read_to = max(self._read_to, message.end_lsn)
            batch.last_commit = message.commit_time
        elif isinstance(message, Relation):
            self._decoder.add_relation(message)
        elif isinstance(message, Keepalive):
            if not batch.in_transaction:
                # all the server decoded before this keepalive has arrived
                self._read_to = max(self._read_to, message.wal_end)
                batch.caught_up = True
            if message.reply_requested:
                self._send_status(pgconn, reply=False)

    def _ended(self, pgconn: pq.abc.PGconn) -> None:
        """The server ended the stream (an error, a shutdown): report why, then reopen."""
        reason = pgconn.get_error_message()
        result = pgconn.get_result()
        if result is not None and result.error_message:
            reason = result.error_message.decode(errors="replace")
        self.close()
        raise StoreUnavailableError(f"the replication stream ended: {reason.strip()}")

    # -- confirming ---------------------------------------------------------------------

    def confirm(self, position: int) -> None:
        if position <= self._confirmed or self._conn is None:
            return
        self._confirmed = position
        try:
            self._send_status(self._conn.pgconn, reply=False)
        except psycopg.OperationalError as exc:
            self.close()
            raise StoreUnavailableError(str(exc).strip().splitlines()[0]) from exc

    def _status_if_due(self, pgconn: pq.abc.PGconn) -> None:
        if self._monotonic() >= self._next_status:
            self._send_status(pgconn, reply=False)

    def _send_status(self, pgconn: pq.abc.PGconn, *, reply: bool) -> None:
        pgconn.put_copy_data(standby_status(self._confirmed, self._now(), reply=reply))
        self._flush(pgconn)
        self._next_status = self._monotonic() + STATUS_INTERVAL

    @staticmethod
    def _flush(pgconn: pq.abc.PGconn) -> None:
        while pgconn.flush() == 1:  # the socket's buffer is full: wait until it drains
            select.select([], [pgconn.socket], [], 1.0)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
