"""outbox: an insert trigger wakes the relay

On PostgreSQL a statement-level ``AFTER INSERT`` trigger on the outbox runs
``pg_notify``, so the writer no longer sends a ``SELECT pg_notify(…)`` of its own: one
round trip less per write transaction. The notification still goes out only at commit,
once per transaction. (The same trigger as ``playball_events.outbox.table_sql``
creates with the table; written out here so this migration never changes.)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION outbox_notify_relay() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ "
            "BEGIN PERFORM pg_notify('playball_outbox', ''); RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER outbox_notify_relay AFTER INSERT ON outbox "
            "FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify_relay()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS outbox_notify_relay ON outbox")
        op.execute("DROP FUNCTION IF EXISTS outbox_notify_relay()")
