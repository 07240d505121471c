"""outbox: fillfactor 50, and the per-user index on unsent rows only

Fillfactor 50, so the relay's lease update stays on the row's page.

The relay leases every row it claims (claimed_by, claimed_until: columns no index
covers). With room left on the page, Postgres makes that update a heap-only tuple: no
new entry in any of the table's indexes. Pages packed full (the default) force every
lease into a new page and new entries in all five indexes. Applies to pages written
from now on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


UNSENT = sa.text("state IN ('pending', 'parked')")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE outbox SET (fillfactor = 50)")
    op.create_index(
        "ix_outbox_unsent",
        "outbox",
        ["aggregate_id", "aggregate_version"],
        postgresql_where=UNSENT,
        sqlite_where=UNSENT,
    )
    op.drop_index("ix_outbox_pending", table_name="outbox")


def downgrade() -> None:
    op.create_index(
        "ix_outbox_pending", "outbox", ["state", "aggregate_id", "aggregate_version", "seq"]
    )
    op.drop_index("ix_outbox_unsent", table_name="outbox")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE outbox RESET (fillfactor)")
