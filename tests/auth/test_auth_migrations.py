"""The migrations create exactly the tables the code maps (users + the shared outbox)."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from playball_auth.adapters.orm_sql import metadata
from sqlalchemy import Engine, inspect


# SQLAlchemy cannot reflect SQLite's expression indexes; the uniqueness test below covers it
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
@pytest.mark.parametrize(
    "engine_fixture", ["sqlite_engine", pytest.param("pg_engine", marks=pytest.mark.stack)]
)
def test_the_migrated_database_matches_the_metadata(
    engine_fixture: str, request: pytest.FixtureRequest
) -> None:
    engine: Engine = request.getfixturevalue(engine_fixture)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
        tables = set(inspect(conn).get_table_names())
    assert differences == []
    assert {"users", "outbox", "alembic_version"} <= tables
