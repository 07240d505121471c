"""Which database failures are transient: the server is away, busy, or lost the race.

Retried with backoff (the batch rewound), never parked: a connection error or timeout,
and the SQLSTATEs that say nothing about the statement:

- ``08xxx`` connection exception;
- ``40001`` serialization failure and ``40P01`` deadlock (the transaction lost a race;
  running it again succeeds);
- ``53xxx`` insufficient resources (disk or memory full, too many connections);
- ``57P0x`` the server shutting down, restarting or not accepting connections yet, and
  ``57014`` a statement cancelled by ``statement_timeout`` or an operator (a timeout).

Everything else (a constraint, a missing column, a value out of range) fails the same way
every time, so the loop applies the batch's events one by one and parks those that fail.
SQLite has no SQLSTATE: a busy or locked database, a full disk, an I/O error or a file
that cannot be opened are its transient failures.
"""

import sqlite3

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from playball_events.consumer.ports import TRANSIENT_BUILTINS

TRANSIENT_SQLSTATE_CLASSES = ("08", "53")
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "57014"})
TRANSIENT_SQLSTATE_PREFIXES = ("57P0",)  # 57P01 admin_shutdown … 57P05 idle_session_timeout
# primary result codes (the low byte of sqlite_errorcode)
SQLITE_TRANSIENT = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
    }
)


def is_transient_sqlstate(sqlstate: str) -> bool:
    return (
        sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES
        or sqlstate in TRANSIENT_SQLSTATES
        or sqlstate.startswith(TRANSIENT_SQLSTATE_PREFIXES)
    )


def is_transient_database_error(error: BaseException) -> bool:
    """Whether a failed transaction is worth running again as it is."""
    if isinstance(error, (*TRANSIENT_BUILTINS, PoolTimeoutError)):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:  # SQLAlchemy saw the connection die under it
        return True
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None)  # psycopg's errors carry it
    if isinstance(sqlstate, str) and sqlstate:
        return is_transient_sqlstate(sqlstate)
    if isinstance(original, sqlite3.Error):
        code = getattr(original, "sqlite_errorcode", None)
        return isinstance(code, int) and code & 0xFF in SQLITE_TRANSIENT
    # No SQLSTATE from PostgreSQL's driver: the client failed before or without an answer
    # (connection refused, lost, closed, timed out).
    return isinstance(error, OperationalError | InterfaceError)
