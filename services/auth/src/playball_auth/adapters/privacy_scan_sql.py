"""Where the auth database still holds a user's personal data: `playball auth privacy scan`.

Two places, auth's own and nobody else's (the audit asks each service for its part):

- ``auth.users``: the account row, while it exists (deleting the account removes it);
  its personal fields are those the contracts tag ``PII`` (username, display name) and
  the email address, which no contract carries;
- ``auth.outbox``: every outbox row of the user whose payload, decoded with its record's
  generated class, holds a field tagged ``PII``. A payload the current classes cannot
  read is reported as undecodable, since it may hold some. Erased payloads (parked rows
  of a deleted user) and ``UserDeleted`` rows hold none; sent rows go after the relay's
  retention.

Only field names and row positions are reported, never values.
"""

import uuid
from typing import Any

from playball_events.contracts import UserRegistered
from playball_events.contracts.topics import ALL_TOPICS
from playball_events.privacy_scan import (
    UNDECODABLE,
    Finding,
    Place,
    ScanReport,
    held_fields,
    personal_fields_held,
)
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from playball_auth.adapters.orm_sql import outbox, users

USERS, OUTBOX = "auth.users", "auth.outbox"
# the account's personal columns: the contract's PII fields, and the email address
ACCOUNT_FIELDS = (*UserRegistered.PERSONAL_FIELDS, "email")
_RECORD_CLASSES: dict[str, Any] = {
    subject.record_full_name: subject.record for topic in ALL_TOPICS for subject in topic.subjects
}


def scan_user(engine: Engine, user_id: uuid.UUID) -> ScanReport:
    """Both places; one that cannot be read carries its error instead of findings."""
    return ScanReport(str(user_id), (_users(engine, user_id), _outbox(engine, user_id)))


def _users(engine: Engine, user_id: uuid.UUID) -> Place:
    try:
        with engine.connect() as connection:
            row = connection.execute(select(users).where(users.c.id == user_id)).first()
    except SQLAlchemyError as exc:
        return Place(USERS, error=_first_line(exc))
    if row is None:
        return Place(USERS)
    fields = held_fields(row._mapping, ACCOUNT_FIELDS)
    return Place(USERS, (Finding(f"row id {user_id}", fields),) if fields else ())


def _outbox(engine: Engine, user_id: uuid.UUID) -> Place:
    o = outbox
    columns = (o.c.seq, o.c.event_id, o.c.aggregate_version, o.c.state, o.c.record_type)
    query = select(*columns, o.c.payload).where(o.c.aggregate_id == str(user_id)).order_by(o.c.seq)
    try:
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    except SQLAlchemyError as exc:
        return Place(OUTBOX, error=_first_line(exc))
    findings = []
    for row in rows:
        if row.payload is None:
            continue  # erased with its user
        fields = _payload_fields(row.record_type, bytes(row.payload))
        if fields:
            where = f"event {row.event_id}, v{row.aggregate_version}, {row.state}"
            findings.append(Finding(f"row seq {row.seq} ({where})", fields))
    return Place(OUTBOX, tuple(findings))


def _payload_fields(record_type: str, payload: bytes) -> tuple[str, ...]:
    record_class = _RECORD_CLASSES.get(record_type)
    if record_class is None:
        return (UNDECODABLE,)
    try:
        record = record_class.from_avro_bytes(payload)
    except Exception:  # any decoding failure: it may still hold personal data
        return (UNDECODABLE,)
    return personal_fields_held(record)


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
