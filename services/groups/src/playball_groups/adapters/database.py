"""Engines for the groups database, and creating that database when it is missing."""

from typing import Any

from playball_events.postgres_network import network_connect_args
from sqlalchemy import Engine, create_engine, event, text

__all__ = [
    "DatabaseUnreachableError",
    "Engine",
    "create_database_if_missing",
    "is_reachable",
    "make_engine",
]
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError


class DatabaseUnreachableError(Exception):
    """The database server does not answer (CLI exit code 3)."""


def make_engine(url: str, **options: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        # one writer at a time; wait for it rather than fail with "database is locked"
        engine = create_engine(parsed, connect_args={"timeout": 30}, **options)

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    options.setdefault("pool_pre_ping", True)
    connect_args = {**network_connect_args(parsed.query), **options.pop("connect_args", {})}
    return create_engine(parsed, connect_args=connect_args, **options)


def create_database_if_missing(url: str) -> bool:
    """Create the URL's PostgreSQL database when it does not exist; True when created.

    SQLite creates its file on first connect, so there is nothing to do for it.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return False
    name = parsed.database
    admin = make_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if exists:
                return False
            quoted = admin.dialect.identifier_preparer.quote(str(name))
            connection.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    except OperationalError as exc:
        msg = f"database server of {parsed.render_as_string()} unreachable: {exc.orig}"
        raise DatabaseUnreachableError(msg) from exc
    finally:
        admin.dispose()


def is_reachable(engine: Engine) -> bool:
    """Whether a trivial query answers (the API's health check)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError:
        return False
    return True
