"""The groups database's Alembic migrations, run from code."""

from pathlib import Path

from playball_service_kit import migrations_sql
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def upgrade(engine: Engine, revision: str = "head") -> None:
    migrations_sql.upgrade(engine, MIGRATIONS, revision)


def is_migrated(engine: Engine) -> bool:
    """Whether the database is at the latest revision (the API refuses to start otherwise)."""
    return migrations_sql.is_migrated(engine, MIGRATIONS)
