"""The groups database's engine (the service kit's, with groups' SQLite pragmas), and
creating that database when it is missing (the kit's)."""

from typing import Any

from playball_service_kit.database_sql import create_database_if_missing
from playball_service_kit.database_sql import make_engine as make_service_engine
from sqlalchemy import Engine, event

__all__ = ["Engine", "create_database_if_missing", "make_engine"]


def make_engine(url: str, **options: Any) -> Engine:
    """An engine on the groups database; ``options`` go to :func:`sqlalchemy.create_engine`."""
    engine = make_service_engine(url, **options)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine
