"""A service's Alembic migrations, run from code: no alembic.ini to ship or find."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from playball_service_kit.database_sql import check_reachable


def _config(migrations: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    return config


def upgrade(engine: Engine, migrations: Path, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` of the migrations in ``migrations``.

    Raises :class:`~.database_sql.DatabaseUnreachableError` when the database does not
    answer.
    """
    check_reachable(engine)
    config = _config(migrations)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def is_migrated(engine: Engine, migrations: Path) -> bool:
    """Whether the database is at the latest of the migrations in ``migrations``."""
    check_reachable(engine)
    head = ScriptDirectory.from_config(_config(migrations)).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
