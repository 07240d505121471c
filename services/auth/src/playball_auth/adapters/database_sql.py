"""The auth database: its engine, sessions with the outbox writer installed, migration.

The engine, database creation and reachability are the service kit's
(:mod:`playball_service_kit.database_sql`); what is auth's own is the pool size, SQLite's
write lock taken at BEGIN, the mapping and the migrations.
"""

from pathlib import Path
from typing import Any

from playball_service_kit import migrations_sql
from playball_service_kit.database_sql import create_database_if_missing
from playball_service_kit.database_sql import make_engine as make_service_engine
from sqlalchemy import Engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from playball_auth.adapters import user_events_sql
from playball_auth.adapters.idle_ping_sql import ping_idle_connections
from playball_auth.adapters.orm_sql import map_user

__all__ = [
    "create_database_if_missing",
    "is_migrated",
    "make_engine",
    "migrate",
    "session_factory",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Connections kept open: the API runs its sync handlers on a thread pool (40 threads), one
# connection per request in flight, and a connection beyond the pool's size is closed
# when it is returned. SQLAlchemy's default of 5 made a steady load of 8 clients start
# (fork, authenticate) a PostgreSQL backend several times a second; 16 did the same at
# 400 requests/s from 20 clients (bench_e2e.py: 20 to 150 new sessions per 10 s run).
# Kept at most 40, the request threads: a pool is filled only as far as a load needs.
POOL_SIZE = 24
POOL_OVERFLOW = 16


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

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        engine = make_service_engine(url)
        _sqlite_transactions(engine)
        return engine
    # pinged only after an idle spell, not at every checkout: see idle_ping_sql
    engine = make_service_engine(
        url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW, pool_pre_ping=False
    )
    ping_idle_connections(engine)
    return engine


def session_factory(engine: Engine) -> "sessionmaker[Session]":
    """Sessions whose flushes write the users' events to the outbox."""
    map_user()
    factory = sessionmaker(engine, expire_on_commit=False)
    user_events_sql.install(factory)
    return factory


def is_migrated(engine: Engine) -> bool:
    """True if the database is at the package's latest migration."""
    return migrations_sql.is_migrated(engine, MIGRATIONS)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (the package's Alembic migrations)."""
    migrations_sql.upgrade(engine, MIGRATIONS, revision)
