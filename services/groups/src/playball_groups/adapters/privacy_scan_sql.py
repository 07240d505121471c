"""Where the groups database still holds a user's personal data: `playball groups privacy
scan`.

Two places, the groups service's own:

- ``groups.known_users``: the user's row of the view, while it holds a name (a deletion
  turns it into a tombstone: deleted, the version, no username or display name; the
  tombstone stays, so a late or replayed event cannot bring the user back);
- ``groups.processed_events``: the consumer's dedup rows. They hold event ids, topics,
  partitions and offsets only, no personal field and not even the user id, so the scan
  reads the table (it must be there and readable) and finds nothing in it by design.

Only field names and row positions are reported, never values.
"""

import uuid

from playball_events.privacy_scan import Finding, Place, ScanReport, held_fields
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from playball_groups.adapters.tables import known_users, processed_events

VIEW, PROCESSED = "groups.known_users", "groups.processed_events"
VIEW_FIELDS = ("username", "display_name")  # the view's copies of the PII-tagged fields


def scan_user(engine: Engine, user_id: uuid.UUID) -> ScanReport:
    return ScanReport(str(user_id), (_view(engine, user_id), _processed(engine)))


def _view(engine: Engine, user_id: uuid.UUID) -> Place:
    try:
        with engine.connect() as connection:
            row = connection.execute(
                select(known_users).where(known_users.c.user_id == user_id)
            ).first()
    except SQLAlchemyError as exc:
        return Place(VIEW, error=_first_line(exc))
    fields = () if row is None else held_fields(row._mapping, VIEW_FIELDS)
    if not fields or row is None:
        return Place(VIEW)
    return Place(VIEW, (Finding(f"row user_id {user_id} (v{row.user_version})", fields),))


def _processed(engine: Engine) -> Place:
    try:
        with engine.connect() as connection:
            connection.execute(select(func.count()).select_from(processed_events)).scalar()
    except SQLAlchemyError as exc:
        return Place(PROCESSED, error=_first_line(exc))
    return Place(PROCESSED)  # event ids and offsets: nothing personal to find


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
