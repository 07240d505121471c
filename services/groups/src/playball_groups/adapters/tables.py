"""The groups database: the user view, groups, memberships, processed events."""

from playball_events.consumer.processed_sql import define_processed_events_table
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
)

metadata = MetaData()

known_users = Table(
    "known_users",
    metadata,
    Column("user_id", Uuid(), primary_key=True),
    Column("user_version", BigInteger(), nullable=False),
    Column("deleted", Boolean(), nullable=False),
    Column("username", String(255), nullable=True),
    Column("display_name", String(255), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

groups = Table(
    "groups",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("group_id", Uuid(), ForeignKey("groups.id"), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("known_users.user_id"), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("joined_at", DateTime(timezone=True), nullable=False),
    Index("ix_memberships_user_id", "user_id"),
)

processed_events = define_processed_events_table(metadata)
