"""Engines, sessions with the outbox writer installed, database creation and migration."""

from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from playball_events.postgres_network import network_connect_args
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from playball_auth.adapters import user_events_sql
from playball_auth.adapters.orm_sql import map_user


class DatabaseUnavailableError(Exception):
    """The database server cannot be reached (or refuses us); the message says where."""


def _describe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's message, without SQLAlchemy's statement dump and link."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return str(exc.orig).strip()
    return str(exc)


def _sqlite_transactions(engine: Engine) -> None:
    """Make SQLite transactions start with BEGIN IMMEDIATE.

    pysqlite starts a transaction only at the first write, so two sessions could both read
    a user and then write; and a deferred transaction upgrading to a write lock fails at
    once instead of waiting. Taking the write lock at BEGIN serializes writers properly
    (and waits up to the busy timeout): good enough for development and tests.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        dbapi_connection.execute("PRAGMA busy_timeout = 30000")

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# Connections kept open: the API runs its sync handlers on a thread pool, one connection
# per request in flight. SQLAlchemy's default of 5 closed the connections of a sixth to
# fifteenth concurrent request after each use, so a steady load of 8 clients made
# PostgreSQL start (fork) a backend several times a second.
POOL_SIZE = 16
POOL_OVERFLOW = 16


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _sqlite_transactions(engine)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        connect_args=network_connect_args(parsed.query),
    )


def session_factory(engine: Engine) -> "sessionmaker[Session]":
    """Sessions whose flushes write the users' events to the outbox."""
    map_user()
    factory = sessionmaker(engine, expire_on_commit=False)
    user_events_sql.install(factory)
    return factory


def check_reachable(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        msg = f"cannot reach the auth database {_describe(str(engine.url))}: {_reason(exc)}"
        raise DatabaseUnavailableError(msg) from exc


def create_database_if_missing(url: str) -> bool:
    """Create the database ``url`` names, unless it exists; True if created.

    PostgreSQL: through the server's maintenance database ``postgres``. SQLite: the file
    appears on first connect; only its directory needs creating.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            path.parent.mkdir(parents=True, exist_ok=True)
            return not path.exists()
        return False
    name = parsed.database
    if not name:
        msg = f"the database URL names no database: {_describe(url)}"
        raise ValueError(msg)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists is not None:
                return False
            quoted = admin.dialect.identifier_preparer.quote_identifier(name)
            conn.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    except SQLAlchemyError as exc:
        msg = f"cannot create database {name!r} on {_describe(url)}: {_reason(exc)}"
        raise DatabaseUnavailableError(msg) from exc
    finally:
        admin.dispose()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("playball_auth.adapters") / "migrations"))
    return config


def is_migrated(engine: Engine) -> bool:
    """True if the database is at the package's latest migration."""
    check_reachable(engine)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == head


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (the package's Alembic migrations)."""
    check_reachable(engine)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
