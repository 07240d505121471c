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
    event.listen(User, "load", _start_recording)
    _mapped = True
