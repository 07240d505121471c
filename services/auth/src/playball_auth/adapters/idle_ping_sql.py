"""Ping a pooled PostgreSQL connection before use only when it sat idle for a while.

SQLAlchemy's ``pool_pre_ping`` costs every checkout a round trip to the server, and a
round trip is most of what a request costs the API's CPU (a send and a poll each way):
under load, a pooled connection is taken again milliseconds after it was put back, when
the ping tells nothing new. Here a connection is pinged only when it was last checked in
``idle_seconds`` ago or more (or never: a fresh one), which is when the server may have
restarted, or a firewall dropped it, since it last answered.

A dead connection found by the ping is replaced before the request gets it (the pool's
disconnect handling: ``DisconnectionError`` from a checkout listener, retried on a new
connection). One that died within the idle window fails its request instead, as the
database's own outage does: a 503 the client may retry (``storage_errors_sql``), and the
disconnect makes SQLAlchemy recycle every connection the pool held from before it.
"""

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

# a connection used this recently answered then; beyond it, it is pinged first
PING_AFTER_IDLE_SECONDS = 1.0
_LAST_CHECKIN = "playball_last_checkin"


def ping_idle_connections(
    engine: Engine,
    idle_seconds: float = PING_AFTER_IDLE_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Install the ping on ``engine``, created with ``pool_pre_ping=False``."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_CHECKIN] = clock()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get(_LAST_CHECKIN)
        if last is not None and clock() - last < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                # the pool invalidates this connection and checks out a new one
                raise DisconnectionError(str(exc)) from exc
            raise
