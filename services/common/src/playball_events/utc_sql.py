"""UTC datetimes on every database: the one place SQLite's naive datetimes are fixed.

SQLite has no time zones and hands datetimes back naive; everything we store was written
as aware UTC, so a naive value read back is UTC. PostgreSQL returns aware values already.
"""

from datetime import UTC, datetime

from sqlalchemy import DateTime, TypeDecorator
from sqlalchemy.engine import Dialect


def as_utc(value: datetime) -> datetime:
    """``value`` as stored: aware values unchanged, naive ones (SQLite's) marked UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime column on every database.

    Binding a naive datetime is refused: fastavro and PostgreSQL would each read it in
    another zone, so only aware values may enter.
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
        return as_utc(value) if value is not None else None
