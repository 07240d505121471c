"""A fixed statement run on its transaction's driver cursor: the per-event hot paths.

SQLAlchemy's execution path (its execution context, the compiled cache's lookup, the
result objects) costs about 0.1 ms of CPU per statement, measured on the processed-events
claim in a transaction of its own: 340 to 370 µs through ``Connection.scalars``, 215 to
260 µs on the driver's cursor. A consumer at a low rate runs two such statements per
event, the auth API two per profile change.

The statement is compiled once per dialect (the driver's parameter style, SQLAlchemy's
own bind casts, its types' conversions) and runs inside the caller's transaction, on its
connection. A failure is translated as SQLAlchemy's own execution translates it: a
:class:`~sqlalchemy.exc.DBAPIError` wrapping the driver's error, parameters hidden
(payloads hold personal data), and the connection invalidated when the dialect calls it
a disconnect, so that the callers' handling of failures (the consumer's
:mod:`playball_events.consumer.transient_sql`, the auth unit of work's unique violations)
sees what it always saw.

A statement can also run *alone* (``alone=True``): when its transaction has not begun
on the database (it has sent nothing yet, or only statements run alone), it runs in a
transaction of its own (the driver's autocommit, for this one statement). That saves
the BEGIN round trip, and the COMMIT or ROLLBACK the transaction ends with then has
nothing to send either: a unit of work of one read and one write makes two round trips
instead of four. Only for a statement whose effect stands alone: a read at READ
COMMITTED (each statement there reads its own snapshot, inside a transaction or not),
or the one and last write of a transaction. Once the transaction has sent a statement
that was not alone, an ``alone`` statement runs in it like any other.
This needs a driver that begins its transactions lazily, with their first statement, and
tells whether one is open (``info.transaction_status``), as psycopg 3 does, the services'
PostgreSQL driver; with another the statement runs in the transaction.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from psycopg import pq
from sqlalchemy import Connection, Dialect, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    own: dict[str, Any]  # the values of the binds the statement holds itself
    binds: Mapping[str, Callable[[Any], Any]]  # SQLAlchemy's conversion of a parameter
    results: tuple[Callable[[Any], Any] | None, ...]  # ... and of a row's column; () if none


class DriverStatement:
    """One statement, compiled once per dialect, run on the driver's cursor.

    Parameters and rows get SQLAlchemy's conversions for their types (a TypeDecorator's,
    JSON's), as ``Connection.execute`` would apply them: the parameters by their binds'
    types, the rows by a SELECT's column types (a statement of another kind returns its
    rows as the driver gives them). An expanding bind (an IN list), a bind name the
    parameter style cannot carry, or a positional parameter style (SQLite's) is refused
    when the statement is compiled.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}  # per dialect name

    def rows(
        self, tx: Connection, parameters: Mapping[str, Any], *, alone: bool = False
    ) -> list[tuple[Any, ...]]:
        """The statement's rows (none for one that returns none), run in ``tx`` (or
        ``alone``, see the module's text)."""
        return self._run(tx, parameters, fetch=True, alone=alone)[1]

    def rowcount(
        self, tx: Connection, parameters: Mapping[str, Any], *, alone: bool = False
    ) -> int:
        """The rows the statement changed, run in ``tx`` (or ``alone``)."""
        return self._run(tx, parameters, fetch=False, alone=alone)[0]

    def _run(
        self, tx: Connection, parameters: Mapping[str, Any], *, fetch: bool, alone: bool
    ) -> tuple[int, list[tuple[Any, ...]]]:
        """The row count and, if ``fetch``, the converted rows."""
        dialect = tx.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = self._compile(dialect)
        values = {**compiled.own, **parameters}
        for name, convert in compiled.binds.items():
            if name in values:
                values[name] = convert(values[name])
        dbapi_connection = tx.connection.dbapi_connection
        assert dbapi_connection is not None, "the transaction's connection is closed"
        cursor = dbapi_connection.cursor()
        try:
            with _alone_if_idle(tx, dbapi_connection) if alone else nullcontext():
                cursor.execute(compiled.sql, values)
            found = (
                _converted(cursor.fetchall(), compiled.results)
                if fetch and cursor.description is not None
                else []
            )
            return int(cursor.rowcount), found
        except dialect.loaded_dbapi.Error as exc:
            gone = dialect.is_disconnect(exc, dbapi_connection, cursor)
            if gone:
                tx.invalidate(exc)
            raise DBAPIError.instance(
                compiled.sql,
                values,
                exc,
                dialect.loaded_dbapi.Error,
                hide_parameters=True,
                connection_invalidated=gone,
                dialect=dialect,
            ) from exc
        finally:
            cursor.close()

    def _compile(self, dialect: Dialect) -> _Compiled:
        done = self._statement.compile(dialect=dialect)
        assert isinstance(done, SQLCompiler), "a statement compiles to SQL"
        expanding = sorted(name for name, bind in done.binds.items() if bind.expanding)
        # a bind name the parameter style cannot carry is renamed in the SQL only
        renamed = sorted(done.escaped_bind_names)
        if expanding or renamed or done.positional:
            why = (
                f"expanding binds {', '.join(expanding)}"
                if expanding
                else f"renamed binds {', '.join(renamed)}"
                if renamed
                else "positional binds"
            )
            msg = f"{why} on {dialect.name}: run this statement through SQLAlchemy"
            raise TypeError(msg)
        binds = {
            name: convert
            for name, bind in done.binds.items()
            if (convert := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        columns = self._statement.selected_columns if isinstance(self._statement, Select) else ()
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
        if not any(results):
            results = ()
        return _Compiled(str(done), dict(done.params), binds, results)


@contextmanager
def _alone_if_idle(tx: Connection, dbapi_connection: Any) -> Iterator[None]:
    """Autocommit for the block if the driver's transaction has not begun (psycopg 3
    sends its BEGIN with the transaction's first statement). Restored after, or the
    connection is invalidated: one left in autocommit would commit every statement of
    the transactions that use it next, each on its own."""
    info = getattr(dbapi_connection, "info", None)
    status = getattr(info, "transaction_status", None)
    if status != pq.TransactionStatus.IDLE or dbapi_connection.autocommit:
        yield
        return
    dbapi_connection.autocommit = True
    try:
        yield
    finally:
        try:
            dbapi_connection.autocommit = False
        except tx.dialect.loaded_dbapi.Error as exc:  # a broken connection: never reused
            if not tx.invalidated:
                tx.invalidate(exc)


def _converted(
    rows: Sequence[tuple[Any, ...]], results: tuple[Callable[[Any], Any] | None, ...]
) -> list[tuple[Any, ...]]:
    if not results:
        return list(rows)
    return [
        tuple(
            value if convert is None else convert(value)
            for value, convert in zip(row, results, strict=True)
        )
        for row in rows
    ]
