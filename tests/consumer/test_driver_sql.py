"""A statement on the driver's cursor converts and fails as SQLAlchemy's own execution
would: the same values reach the database and come back, and the callers' handling of
failures (transient or not, a unique violation) sees the same errors. A statement run
``alone`` commits by itself only while its transaction has sent nothing."""

import json
from collections.abc import Iterator

import psycopg
import pytest
from playball_events.consumer.transient_sql import is_transient_database_error
from playball_events.driver_sql import DriverStatement
from sqlalchemy import (
    JSON,
    Dialect,
    Engine,
    Integer,
    Text,
    TypeDecorator,
    bindparam,
    cast,
    create_engine,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from support.databases import fresh_postgres

pytestmark = pytest.mark.stack

SECRET = "a display name that must not reach a log"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    with fresh_postgres(database_url, "playball_driver_sql") as url:
        engine = create_engine(url, pool_pre_ping=False)
        with engine.begin() as tx:
            tx.execute(text("CREATE TABLE t (k integer PRIMARY KEY, name text NOT NULL)"))
        yield engine
        engine.dispose()


INSERT = DriverStatement(
    text("INSERT INTO t (k, name) VALUES (:k, :name) ON CONFLICT DO NOTHING RETURNING k")
)
PLAIN_INSERT = DriverStatement(text("INSERT INTO t (k, name) VALUES (:k, :name)"))


def test_rows_come_back_in_the_callers_transaction(engine: Engine) -> None:
    with engine.begin() as tx:
        assert INSERT.rows(tx, {"k": 1, "name": "a"}) == [(1,)]
        assert INSERT.rows(tx, {"k": 1, "name": "a"}) == []  # seen by the same transaction
        assert PLAIN_INSERT.rows(tx, {"k": 2, "name": "100% b"}) == []  # no rows to return
        tx.rollback()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 0  # rolled back


def test_a_constraint_failure_is_sqlalchemys_error_without_the_parameters(engine: Engine) -> None:
    with engine.begin() as tx:
        PLAIN_INSERT.rows(tx, {"k": 1, "name": "a"})
        with pytest.raises(IntegrityError) as raised:
            PLAIN_INSERT.rows(tx, {"k": 1, "name": SECRET})
        tx.rollback()
    error = raised.value
    assert isinstance(error.orig, psycopg.errors.UniqueViolation)
    assert not error.connection_invalidated
    assert not is_transient_database_error(error)  # the same every time: parked, not retried
    assert SECRET not in str(error)


@pytest.mark.parametrize("alone", [False, True], ids=["in-transaction", "alone"])
def test_a_connection_cut_under_the_statement_is_invalidated_and_transient(
    engine: Engine, alone: bool
) -> None:
    with engine.connect() as tx:
        with tx.begin():  # the pid read in a transaction of its own: the next is the first
            pid = tx.execute(text("SELECT pg_backend_pid()")).scalar_one()
        tx.begin()
        with engine.connect() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
        with pytest.raises(DBAPIError) as raised:
            INSERT.rows(tx, {"k": 1, "name": "a"}, alone=alone)
        # as SQLAlchemy's own execution would: the connection is thrown away, not pooled
        assert tx.invalidated
    assert raised.value.connection_invalidated
    assert isinstance(raised.value.orig, psycopg.OperationalError)
    assert is_transient_database_error(raised.value)  # retried with backoff, never parked
    with engine.begin() as tx:  # the pool hands out a working connection again
        assert INSERT.rows(tx, {"k": 1, "name": "a"}) == [(1,)]


def test_literals_of_a_core_statement_go_with_its_parameters(engine: Engine) -> None:
    # coalesce(..., 7) and the LIMIT become binds of the statement's own, not the caller's
    value = bindparam("v", type_=Integer())
    statement = DriverStatement(select(func.coalesce(value, 7) + 1).limit(1))
    with engine.begin() as tx:
        assert statement.rows(tx, {"v": None}) == [(8,)]
        assert statement.rows(tx, {"v": 1}) == [(2,)]


class Shout(TypeDecorator[str]):
    """A type with conversions both ways, as UtcDateTime or JSON have."""

    impl = Text()
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:  # noqa: ARG002
        return None if value is None else value + "!"

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:  # noqa: ARG002
        return None if value is None else value.upper()


def test_parameters_and_a_selects_rows_get_their_types_conversions(engine: Engine) -> None:
    shouted = DriverStatement(select(bindparam("w", type_=Shout())))
    document = DriverStatement(select(cast(bindparam("doc", type_=JSON()), Text())))
    with engine.begin() as tx:
        assert shouted.rows(tx, {"w": "hi"}) == [("HI!",)]  # "hi!" bound, "HI!" read
        ((text_of_document,),) = document.rows(tx, {"doc": {"a": [1, "é"]}})
    assert json.loads(text_of_document) == {"a": [1, "é"]}


def test_rowcount_counts_the_rows_changed(engine: Engine) -> None:
    rename = DriverStatement(text("UPDATE t SET name = :name WHERE k = :k"))
    with engine.begin() as tx:
        PLAIN_INSERT.rows(tx, {"k": 1, "name": "a"})
        assert rename.rowcount(tx, {"k": 1, "name": "b"}) == 1
        assert rename.rowcount(tx, {"k": 2, "name": "b"}) == 0


def test_an_expanding_or_renamed_bind_is_refused_before_anything_runs(engine: Engine) -> None:
    statement = DriverStatement(
        select(literal_column("1")).where(literal_column("1").in_(bindparam("ks", expanding=True)))
    )
    with engine.begin() as tx, pytest.raises(TypeError, match="expanding binds ks"):
        statement.rows(tx, {"ks": [1, 2]})
    dotted = DriverStatement(select(bindparam("a.b", type_=Integer())))  # renamed in the SQL
    with engine.begin() as tx, pytest.raises(TypeError, match=r"renamed binds a\.b"):
        dotted.rows(tx, {"a.b": 1})


def rows_in_t(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM t")).scalar_one())


def test_a_first_statement_alone_commits_by_itself_and_the_next_runs_in_the_transaction(
    engine: Engine,
) -> None:
    with engine.connect() as tx:
        tx.begin()
        assert INSERT.rows(tx, {"k": 1, "name": "a"}, alone=True) == [(1,)]
        assert rows_in_t(engine) == 1  # committed: another connection sees it at once
        PLAIN_INSERT.rows(tx, {"k": 2, "name": "b"})  # begins the transaction again
        assert rows_in_t(engine) == 1
        tx.rollback()
    assert rows_in_t(engine) == 1  # the second undone, the first not


def test_a_statement_alone_after_others_runs_in_their_transaction(engine: Engine) -> None:
    with engine.connect() as tx:
        tx.begin()
        PLAIN_INSERT.rows(tx, {"k": 1, "name": "a"})
        assert INSERT.rows(tx, {"k": 2, "name": "b"}, alone=True) == [(2,)]
        assert rows_in_t(engine) == 0
        tx.rollback()
    assert rows_in_t(engine) == 0


def test_a_failure_alone_leaves_the_connection_running_transactions(engine: Engine) -> None:
    with engine.begin() as tx:
        PLAIN_INSERT.rows(tx, {"k": 1, "name": "a"})
    with engine.connect() as tx:
        tx.begin()
        with pytest.raises(IntegrityError):
            PLAIN_INSERT.rows(tx, {"k": 1, "name": SECRET}, alone=True)
        assert not tx.invalidated
        tx.rollback()
        tx.begin()
        PLAIN_INSERT.rows(tx, {"k": 2, "name": "b"})
        tx.rollback()
    assert rows_in_t(engine) == 1  # the row after the failure was in a transaction
