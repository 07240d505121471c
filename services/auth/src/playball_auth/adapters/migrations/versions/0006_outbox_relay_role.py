"""outbox: the relay's database role may read, lease and clean the outbox, nothing else

The local stack runs the relay as ``playball_auth_relay`` (LOGIN REPLICATION, not the
database's owner): it may connect to the auth database, and this grants it what the
relay does to the outbox (claim and mark rows: SELECT, UPDATE; clean sent ones up:
DELETE). It sees no other table, password hashes included. A server without that role
(a deployment naming its roles otherwise) is left as it is: its operator grants the same
to its own relay role.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RELAY_ROLE = "playball_auth_relay"  # written out: a migration never changes


def _if_role_exists(statement: str) -> str:
    return (
        "DO $$ BEGIN "
        f"IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{RELAY_ROLE}') THEN {statement}; "
        "END IF; END $$"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_if_role_exists(f"GRANT USAGE ON SCHEMA public TO {RELAY_ROLE}"))
        op.execute(_if_role_exists(f"GRANT SELECT, UPDATE, DELETE ON outbox TO {RELAY_ROLE}"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_if_role_exists(f"REVOKE ALL ON outbox FROM {RELAY_ROLE}"))
        op.execute(_if_role_exists(f"REVOKE USAGE ON SCHEMA public FROM {RELAY_ROLE}"))
