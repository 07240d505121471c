"""outbox: a parked row's payload may be erased (NULL) when its user is deleted

The transaction that writes a user's ``UserDeleted`` nulls the payloads of that user's
parked rows (they hold its username and display name, and would otherwise be kept for
ever); their reasons stay. See docs/privacy.md.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch: SQLite alters a column by copying the table (render_as_batch in env.py)
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("payload", existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    # an erased row cannot get its payload back: it has nothing to be sent as any more
    op.execute("DELETE FROM outbox WHERE payload IS NULL")
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("payload", existing_type=sa.LargeBinary(), nullable=False)
