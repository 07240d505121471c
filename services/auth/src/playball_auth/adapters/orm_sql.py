"""The users table, the outbox table beside it, and the mapping of the User aggregate.

The mapping is imperative: the domain class stays free of SQLAlchemy, and stays typed.
``version`` is also the optimistic lock (``version_id_col``): every UPDATE or DELETE of a
user says ``WHERE version = <the version we read>``, so of two concurrent changes the
second finds no row and is retried on fresh state; two events can never get the same
version. The version is not bumped by SQLAlchemy (``version_id_generator=False``): the
change detector bumps it, and only for contract changes.
"""

from datetime import UTC, datetime

from playball_events.outbox.table_sql import define_outbox_table
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    Uuid,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import registry

from playball_auth.domain.model import User


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    SQLite has no time zones and hands back naive values; they were written as UTC, so
    they are read back as UTC instead of leaking naive datetimes into the API.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 - the interface
    ) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            msg = "naive datetime: only aware UTC datetimes are stored"
            raise ValueError(msg)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 - the interface
    ) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value


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
    Index("uq_users_email", "email", unique=True),
)
# case-insensitive uniqueness; usernames are ASCII, so lower() agrees on every database
Index("uq_users_username", func.lower(users.c.username), unique=True)

outbox = define_outbox_table(metadata)

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
    _mapped = True
