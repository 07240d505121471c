"""refresh_tokens: the credentials version each token was issued under

A refresh token now carries the user's credentials version when its chain began (the
version the login checked the password against), and a rotation refuses a token whose
version is no longer the user's. A password change revokes the user's refresh tokens in
its own commit, but a login whose password check ran just before that change could
insert its token just after it: unrevoked, it would have outlived the password. Tokens
issued before this migration have none (NULL) and are judged as before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "refresh_tokens", sa.Column("credentials_version", sa.BigInteger(), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("credentials_version")
