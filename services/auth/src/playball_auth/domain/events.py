"""The contract events of a user change, as outbox entries.

Each event gets a fresh ``event_id``, ``occurred_at`` = the time the change was saved
(flushed; UTC, not the commit time) and the user's version after the change. The payload
is the schemaless Avro body written by the generated class; the relay adds the Confluent
header (the schema id) when it sends, so the registry is never on the write path.
"""

import uuid
from datetime import datetime

from playball_events.contracts import UserDeleted, UserRegistered, UserUpdated
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_events.outbox.model import NewOutboxEvent, schema_fingerprint

from playball_auth.domain.model import User

TOPIC = PLAYBALL_AUTH_USER_EVENTS_V1
ContractRecord = UserRegistered | UserUpdated | UserDeleted


_FINGERPRINTS = {
    record: schema_fingerprint(record.avro_schema())
    for record in (UserRegistered, UserUpdated, UserDeleted)
}


def _fingerprint(record_class: type[ContractRecord]) -> str:
    return _FINGERPRINTS[record_class]


def _entry(record: ContractRecord) -> NewOutboxEvent:
    subject = TOPIC.subject_of(type(record))
    return NewOutboxEvent(
        event_id=record.event_id,
        aggregate_id=str(record.user_id),
        aggregate_version=record.user_version,
        record_type=subject.record_full_name,
        topic=TOPIC.name,
        subject=subject.name,
        payload=record.to_avro_bytes(),
        schema_fingerprint=_fingerprint(type(record)),
        created_at=record.occurred_at,
    )


def registered(user: User, occurred_at: datetime) -> NewOutboxEvent:
    """The account's full public state at its current version.

    Also what a backfill sends: a consumer can apply it to a user it has never seen.
    """
    return _entry(
        UserRegistered(
            event_id=uuid.uuid4(),
            occurred_at=occurred_at,
            user_id=user.id,
            user_version=user.version,
            username=user.username,
            display_name=user.display_name,
        )
    )


def updated(user: User, occurred_at: datetime) -> NewOutboxEvent:
    return _entry(
        UserUpdated(
            event_id=uuid.uuid4(),
            occurred_at=occurred_at,
            user_id=user.id,
            user_version=user.version,
            username=user.username,
            display_name=user.display_name,
        )
    )


def deleted(user_id: uuid.UUID, version: int, occurred_at: datetime) -> NewOutboxEvent:
    return _entry(
        UserDeleted(
            event_id=uuid.uuid4(), occurred_at=occurred_at, user_id=user_id, user_version=version
        )
    )
