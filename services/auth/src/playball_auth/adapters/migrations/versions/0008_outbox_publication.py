"""outbox: a publication of its inserts, for the log-based relay; a quieter notify trigger

The log-based relay (``playball auth relay --capture wal``) reads the outbox's inserts
from the WAL through a logical replication slot with the ``pgoutput`` plugin, from the
publication ``playball_outbox`` (inserts only: the relay's own updates are no event).

The notify trigger now stays silent while such a relay streams from a slot on this
database: it needs no wake-up, and notifying serialises commits. Polling relays are woken
as before whenever no log-based relay runs. (The same statements as
``playball_events.outbox.table_sql`` runs with ``create_all``; written out here so this
migration never changes.)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_QUIET_WHILE_STREAMED = (
    "CREATE OR REPLACE FUNCTION outbox_notify_relay() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE active "
    "AND database = current_database() AND plugin = 'pgoutput') THEN "
    "PERFORM pg_notify('playball_outbox', ''); "
    "END IF; RETURN NULL; END $$"
)
_ALWAYS = (
    "CREATE OR REPLACE FUNCTION outbox_notify_relay() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ "
    "BEGIN PERFORM pg_notify('playball_outbox', ''); RETURN NULL; END $$"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE PUBLICATION playball_outbox FOR TABLE outbox WITH (publish = 'insert')")
        op.execute(_QUIET_WHILE_STREAMED)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_ALWAYS)
        op.execute("DROP PUBLICATION IF EXISTS playball_outbox")
