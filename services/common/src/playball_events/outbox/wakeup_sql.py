"""Wake the relay right after a commit: PostgreSQL ``LISTEN`` on the outbox channel.

The writer runs ``pg_notify`` in the transaction that inserts outbox rows, so the
notification arrives exactly when they become visible (NOTIFY is delivered at commit and
deduplicated within a transaction). Notifications are only a hint: a lost one (the
listening connection dropped, the database restarted) costs at most one poll interval,
because the relay polls anyway. So this never raises: on any error it drops the
connection, waits out the timeout, and reconnects on the next call.
"""

import logging
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

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            self._conn = conn
        return self._conn

    def wait(self, timeout: float) -> bool:
        started = time.monotonic()
        try:
            conn = self._connection()
            if not any(True for _ in conn.notifies(timeout=timeout, stop_after=1)):
                return False
            # One claim reads every committed row: skip the notifications queued behind.
            # (Not from inside the loop above: the generator holds the connection's lock.)
            for _ in conn.notifies(timeout=0.0, stop_after=_DRAIN_LIMIT):
                pass
            return True
        except psycopg.Error as exc:
            log.warning("outbox LISTEN connection failed (%s); polling meanwhile", exc)
            self.close()
            time.sleep(max(0.0, timeout - (time.monotonic() - started)))
            return False

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
