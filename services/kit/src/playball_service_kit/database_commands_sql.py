"""The database steps of ``playball <service> migrate`` and ``serve``, with their exit
codes: 2 for a bad database URL or a database that is not migrated, 3 for one that does
not answer. A CLI imports this inside its commands (it loads SQLAlchemy)."""

from collections.abc import Callable
from dataclasses import dataclass

import typer
from playball_core.exits import ConfigurationError, ExitCode
from sqlalchemy import Engine

from playball_service_kit.cli import fail
from playball_service_kit.database_sql import (
    DatabaseUnreachableError,
    create_database_if_missing,
)


@dataclass(frozen=True, slots=True)
class ServiceDatabase:
    service: str  # as in `playball <service>`
    url: str
    variable: str  # the PLAYBALL_* variable that sets the URL
    make_engine: Callable[[str], Engine]
    upgrade: Callable[[Engine], None]
    is_migrated: Callable[[Engine], bool]


def migrate(database: ServiceDatabase) -> None:
    """Create the database when missing, upgrade it to the latest migration, say which."""
    try:
        created = create_database_if_missing(database.url)
        engine = database.make_engine(database.url)
        try:
            database.upgrade(engine)
        finally:
            engine.dispose()
    except DatabaseUnreachableError as exc:
        fail(str(exc), ExitCode.UNREACHABLE)
    except ConfigurationError as exc:
        fail(f"{database.variable}: {exc}", ExitCode.BAD_INPUT)
    typer.echo(("created and " if created else "") + f"migrated the {database.service} database")


def require_migrated(database: ServiceDatabase) -> None:
    """End the command unless the database answers and is at the latest migration."""
    engine = database.make_engine(database.url)
    try:
        current = database.is_migrated(engine)
    except DatabaseUnreachableError as exc:
        fail(str(exc), ExitCode.UNREACHABLE)
    finally:
        engine.dispose()
    if not current:
        command = f"playball {database.service} migrate"
        fail(
            f"the {database.service} database is not migrated: run `{command}`",
            ExitCode.BAD_INPUT,
        )
