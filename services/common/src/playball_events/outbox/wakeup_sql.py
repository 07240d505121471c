"""Wake the relay right after a commit: PostgreSQL ``LISTEN`` on the outbox channel.

The outbox table's insert trigger runs ``pg_notify`` (see :mod:`.table_sql`) in the
transaction that inserts the rows, so the notification arrives exactly when they become
visible (NOTIFY is delivered at commit and deduplicated within a transaction).
Notifications are only a hint: a lost one (the listening connection dropped, the
database restarted) costs at most one poll interval, because the relay polls anyway. So
this never raises: on any error it drops the connection, waits out the timeout, and
reconnects on the next call.

A wait blocks in ``select`` on two things: the listening connection's socket and a
self-pipe, so another thread (the relay's settling thread, when a batch is acked) can
end it with :meth:`ListenWakeup.interrupt`.
"""

import contextlib
import logging
import os
import select
import time

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from playball_events.outbox.model import OUTBOX_CHANNEL
from playball_events.outbox.ports import Wakeup

log = logging.getLogger(__name__)
_DRAIN_LIMIT = 10_000  # notifications skipped at once after a wake-up; the claim reads all rows


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://...`` as libpq understands it."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class ListenWakeup(Wakeup):
    def __init__(self, database_url: str, channel: str = OUTBOX_CHANNEL) -> None:
        self._conninfo = libpq_url(database_url)
        self._channel = channel
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._closed = False
        self._interrupt_read, self._interrupt_write = os.pipe()
        os.set_blocking(self._interrupt_read, False)
        os.set_blocking(self._interrupt_write, False)

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            self._conn = conn
        return self._conn

    def interrupt(self) -> None:
        if self._closed:  # its descriptors may be reused by now
            return
        with contextlib.suppress(BlockingIOError):  # the pipe is full: a wake-up is pending
            os.write(self._interrupt_write, b"\0")

    def wait(self, timeout: float) -> bool:
        started = time.monotonic()
        try:
            conn = self._connection()
            readable, _, _ = select.select([conn.fileno(), self._interrupt_read], [], [], timeout)
            if self._interrupt_read in readable:
                self._drain_interrupts()
            if conn.fileno() in readable:
                # One claim reads every committed row: skip all the notifications queued.
                for _ in conn.notifies(timeout=0.0, stop_after=_DRAIN_LIMIT):
                    pass
            return bool(readable)
        except (psycopg.Error, OSError) as exc:
            log.warning("outbox LISTEN connection failed (%s); polling meanwhile", exc)
            self._close_connection()
            time.sleep(max(0.0, timeout - (time.monotonic() - started)))
            return False

    def _drain_interrupts(self) -> None:
        with contextlib.suppress(BlockingIOError):  # empty now
            while os.read(self._interrupt_read, 4096):
                pass

    def _close_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._close_connection()
        finally:
            for fd in (self._interrupt_read, self._interrupt_write):
                with contextlib.suppress(OSError):
                    os.close(fd)
