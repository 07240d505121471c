"""The users table, the outbox table beside it, and the mapping of the User aggregate.

The mapping is imperative: the domain class stays free of SQLAlchemy, and stays typed.

``version`` is the mapper's optimistic lock (``version_id_col``), and SQLAlchemy never
bumps it (``version_id_generator=False``): the domain does, only for a contract change
or a deletion. Every UPDATE or DELETE of a user says ``WHERE version = <the version
read>``, and finds no row (``StaleDataError``, the use cases' ``StaleUser``) when another
transaction has since saved a version change or deleted the user. What that guarantees:
of two transactions taking one user from version n to n + 1, only one saves; since each
change event carries the version saved with it (the flush hook checks that), no two
change events of a user share a version. What it does not: two changes that leave the
version alone (email, password hash) do not conflict (the last write wins), and events
enqueued without saving the user (a backfill) repeat a version by design.
"""

from playball_events.outbox.table_sql import define_outbox_table
from playball_events.utc_sql import UtcDateTime
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    event,
    func,
)
from sqlalchemy.orm import registry

from playball_auth.domain.model import User


def _start_recording(user: User, _context: object) -> None:
    # the ORM builds loaded users without __init__: give them their (empty) events list
    user.events = []


metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("username", String(32), nullable=False),
    Column("email", String(254), nullable=False),
    Column("password_hash", Text(), nullable=False),
    Column("display_name", String(64), nullable=False),
    Column("version", BigInteger(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # the access tokens' ``cv``: a password change or a deletion bumps it
    Column("credentials_version", BigInteger(), nullable=False, server_default="1"),
    Index("uq_users_email", "email", unique=True),
)
# case-insensitive uniqueness; usernames are ASCII, so lower() agrees on every database
Index("uq_users_username", func.lower(users.c.username), unique=True)

outbox = define_outbox_table(metadata)

# Login throttling, shared by every API process (see playball_auth.domain.throttle)
login_throttle_accounts = Table(
    "login_throttle_accounts",
    metadata,
    Column("username_key", String(256), primary_key=True),
    Column("failures", Integer(), nullable=False),
    Column("last_failure_at", UtcDateTime(), nullable=False),
    Column("locked_until", UtcDateTime(), nullable=True),
    Index("ix_login_throttle_accounts_last_failure_at", "last_failure_at"),
)
login_failures_by_address = Table(
    "login_failures_by_address",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("address", String(64), nullable=False),
    Column("failed_at", UtcDateTime(), nullable=False),
    Index("ix_login_failures_by_address_address_failed_at", "address", "failed_at"),
)

# Refresh tokens: only their SHA-256 is stored; a chain is one login's rotations
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("token_hash", String(64), nullable=False),
    Column("chain_id", Uuid(), nullable=False),
    Column("user_id", Uuid(), nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("spent_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    # the user's credentials version the chain began under; NULL before migration 0009
    Column("credentials_version", BigInteger(), nullable=True),
    Index("uq_refresh_tokens_token_hash", "token_hash", unique=True),
    Index("ix_refresh_tokens_chain_id", "chain_id"),
    Index("ix_refresh_tokens_user_id", "user_id"),
)

mapper_registry = registry(metadata=metadata)
_mapped = False


def map_user() -> None:
    """Map User onto the users table, once per process."""
    global _mapped  # noqa: PLW0603 - the mapping is process-wide by nature
    if _mapped:
        return
    mapper_registry.map_imperatively(
        User,
        users,
        version_id_col=users.c.version,
        version_id_generator=False,
    )
    event.listen(User, "load", _start_recording)
    _mapped = True
