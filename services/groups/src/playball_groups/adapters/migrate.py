"""Running the Alembic migrations from code (no alembic.ini to ship or find)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from playball_groups.adapters.database import DatabaseUnreachableError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = _config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as exc:
        msg = f"database {engine.url.render_as_string()} unreachable: {exc.orig}"
        raise DatabaseUnreachableError(msg) from exc


def is_current(engine: Engine) -> bool:
    """Whether the database is at the latest revision (the API refuses to start otherwise)."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision() == head
    except OperationalError as exc:
        msg = f"database {engine.url.render_as_string()} unreachable: {exc.orig}"
        raise DatabaseUnreachableError(msg) from exc
