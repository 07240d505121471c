"""Alembic environment: always run with a connection handed in by ``migrate()``."""

from alembic import context

from playball_auth.adapters.orm_sql import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    msg = "run migrations with `playball auth migrate`, which supplies the connection"
    raise RuntimeError(msg)

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite alters tables by copying them; batch mode does that for later migrations
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
