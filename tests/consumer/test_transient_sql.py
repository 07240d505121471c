"""Which database errors the consumer retries: raised for real by PostgreSQL and SQLite."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playball_events.consumer.transient_sql import is_transient_database_error
from playball_events.settings import with_database
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

TRANSIENT = ["08006", "08001", "40001", "40P01", "53100", "53300", "57P01", "57P03", "57014"]
POISON = ["23505", "23502", "22001", "42703", "42P01", "P0001", "55P03", "54000", "40002"]


@pytest.fixture(scope="module")
def postgres(database_url: str) -> Iterator[Engine]:
    engine = create_engine(with_database(database_url, "postgres"), pool_size=1)
    yield engine
    engine.dispose()


def raised_by(engine: Engine, sqlstate: str) -> DBAPIError:
    """The error SQLAlchemy raises when PostgreSQL answers with ``sqlstate``."""
    statement = f"DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '{sqlstate}'; END $$"
    with pytest.raises(DBAPIError) as raised, engine.connect() as connection:
        connection.execute(text(statement))
    return raised.value


@pytest.mark.stack
def test_sqlstates_of_a_busy_or_absent_server_are_transient_the_rest_poison(
    postgres: Engine,
) -> None:
    verdicts = {s: is_transient_database_error(raised_by(postgres, s)) for s in TRANSIENT + POISON}
    assert verdicts == {s: s in TRANSIENT for s in TRANSIENT + POISON}


def test_a_server_that_refuses_the_connection_is_transient() -> None:
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(DBAPIError) as raised, engine.connect():
        pass
    assert is_transient_database_error(raised.value)


def test_sqlite_locked_is_transient_a_missing_table_is_not(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    holder = create_engine(url)
    impatient = create_engine(url, connect_args={"timeout": 0})
    with holder.connect() as held:
        held.execute(text("CREATE TABLE t (x INTEGER)"))
        held.commit()
        held.exec_driver_sql("BEGIN EXCLUSIVE")
        with pytest.raises(DBAPIError) as locked, impatient.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
    with pytest.raises(DBAPIError) as missing, impatient.begin() as connection:
        connection.execute(text("SELECT * FROM absent"))
    assert is_transient_database_error(locked.value)
    assert not is_transient_database_error(missing.value)


def test_plain_connection_errors_and_timeouts_are_transient_other_exceptions_are_not() -> None:
    assert is_transient_database_error(ConnectionResetError())
    assert is_transient_database_error(TimeoutError())
    assert not is_transient_database_error(ValueError("a bug"))
