"""A service's database: its engine, creating it when missing, and whether it answers.

PostgreSQL in production (through psycopg, with the network bounds of
:mod:`playball_events.postgres_network`), SQLite for development and tests. What a
service tunes on top (its pool, its SQLite transaction mode) it passes as engine options
or sets on the engine this returns.
"""

from pathlib import Path
from typing import Any

from playball_core.exits import ConfigurationError, DependencyUnreachableError
from playball_events.postgres_network import network_connect_args
from sqlalchemy import URL, Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

# seconds a SQLite writer waits for another's lock instead of failing "database is locked"
SQLITE_BUSY_TIMEOUT = 30


class DatabaseUnreachableError(DependencyUnreachableError):
    """The database server does not answer, or refuses us; the message names it (exit 3)."""


def describe(url: str | URL) -> str:
    """The URL with its password masked, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def reason(exc: SQLAlchemyError) -> str:
    """The driver's message, without SQLAlchemy's statement dump and link."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return str(exc.orig).strip()
    return str(exc)


def make_engine(url: str | URL, **options: Any) -> Engine:
    """An engine for ``url``; ``options`` go to :func:`sqlalchemy.create_engine`.

    A plain ``postgresql://`` URL means psycopg (the driver the services install). A
    PostgreSQL engine pings each connection it checks out unless ``pool_pre_ping=False``.
    Statement parameters are hidden from error messages unless ``hide_parameters=False``.
    """
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    connect_args = dict(options.pop("connect_args", {}))
    # an error's text must never carry the statement's values (a password hash, an
    # email) into a log or a traceback
    options.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        # the API runs its sync handlers on a thread pool: connections cross threads
        sqlite_args = {"timeout": SQLITE_BUSY_TIMEOUT, "check_same_thread": False}
        return create_engine(parsed, connect_args={**sqlite_args, **connect_args}, **options)
    options.setdefault("pool_pre_ping", True)
    network = network_connect_args(parsed.query)
    return create_engine(parsed, connect_args={**network, **connect_args}, **options)


def check_reachable(engine: Engine) -> None:
    """Raises :class:`DatabaseUnreachableError` unless a trivial query answers."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        msg = f"database {describe(engine.url)} unreachable: {reason(exc)}"
        raise DatabaseUnreachableError(msg) from exc


def is_reachable(engine: Engine) -> bool:
    """Whether a trivial query answers (an API's health check)."""
    try:
        check_reachable(engine)
    except DatabaseUnreachableError:
        return False
    return True


def create_database_if_missing(url: str) -> bool:
    """Create the database ``url`` names, unless it exists; True if created.

    PostgreSQL: through the server's maintenance database ``postgres``. SQLite: the file
    appears on first connect; only its directory needs creating.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return False
        path = Path(parsed.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        return not path.exists()
    name = parsed.database
    if not name:
        msg = f"the database URL names no database: {describe(url)}"
        raise ConfigurationError(msg)
    admin = make_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if exists is not None:
                return False
            may_create = connection.scalar(
                text("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")
            )
            if not may_create:
                # a service role owns its database but is not trusted to make others: only
                # the upgrade is its to do
                msg = (
                    f"database {name!r} does not exist, and role {parsed.username!r} may "
                    "not create it (no CREATEDB): have its administrator create it, owned "
                    "by that role (`playball stack up` does, for the local stack)"
                )
                raise ConfigurationError(msg)
            quoted = admin.dialect.identifier_preparer.quote_identifier(name)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    except SQLAlchemyError as exc:
        msg = (
            f"database server of {describe(url)} unreachable, or it refused to create "
            f"{name!r}: {reason(exc)}"
        )
        raise DatabaseUnreachableError(msg) from exc
    finally:
        admin.dispose()


def is_disconnect(error: BaseException | None) -> bool:
    """The database went away or never answered (a restart, a cut connection): not the
    request's fault, and worth retrying as it is."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError)
