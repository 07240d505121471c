"""Alembic environment: migrates the engine :func:`..migrate.upgrade` hands over."""

from alembic import context

from playball_groups.adapters.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
