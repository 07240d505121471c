"""credentials version, login throttling state, refresh tokens

- ``users.credentials_version`` (the access tokens' ``cv`` claim): bumped by a password
  change or the account's deletion, so auth refuses every token issued before it.
- ``login_throttle_accounts``: per normalised username (existing or not), the run of
  consecutive failed logins and the lock it earned. In the database so that every API
  process shares it.
- ``login_failures_by_address``: one row per failed login, per client address; the
  per-address limit counts the rows of the last minute.
- ``refresh_tokens``: only the SHA-256 of each opaque token; a chain is one login's
  line of rotations, revoked whole when a spent token is presented again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("credentials_version", sa.BigInteger(), nullable=False, server_default="1")
        )
    op.create_table(
        "login_throttle_accounts",
        sa.Column("username_key", sa.String(256), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_login_throttle_accounts_last_failure_at",
        "login_throttle_accounts",
        ["last_failure_at"],
    )
    op.create_table(
        "login_failures_by_address",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_login_failures_by_address_address_failed_at",
        "login_failures_by_address",
        ["address", "failed_at"],
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("chain_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("spent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("uq_refresh_tokens_token_hash", "refresh_tokens", ["token_hash"], unique=True)
    op.create_index("ix_refresh_tokens_chain_id", "refresh_tokens", ["chain_id"])
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_table("refresh_tokens")
    op.drop_table("login_failures_by_address")
    op.drop_table("login_throttle_accounts")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("credentials_version")
