"""Interleaving two transactions on PostgreSQL: wait until another thread's transaction
has finished or is waiting for a lock, before letting the first one go on."""

import sys
import threading
import time
import traceback

import pytest
from sqlalchemy import Engine, text

_WAITING = text(
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
)
_SESSIONS = text(
    "SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity"
    " WHERE datname = current_database()"
)


def wait_until_done_or_blocked(
    thread: threading.Thread, engine: Engine, *, what: str, timeout: float = 30
) -> None:
    """Until ``thread`` has finished or a session of ``engine``'s database waits for a
    lock (its, in a test where nothing else runs there); fails with where every session
    and the thread stand after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    # autocommit: a transaction sees pg_stat_activity as it was at its first read
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        while thread.is_alive() and not connection.execute(_WAITING).scalar_one():
            if time.monotonic() > deadline:
                sessions = connection.execute(_SESSIONS).all()
                frame = sys._current_frames().get(thread.ident or 0)
                stack = "".join(traceback.format_stack(frame)) if frame else "(gone)"
                pytest.fail(
                    f"{what} neither finished nor waited for a lock: {sessions}\n"
                    f"pool: {engine.pool.status()}\nits thread:\n{stack}"
                )
            time.sleep(0.01)
