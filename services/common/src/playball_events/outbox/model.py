"""An outbox event as the writer creates it and the relay delivers it, free of SQL."""

import functools
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from playball_core.avro.tags import without_annotations, without_tags

if TYPE_CHECKING:  # for the annotation only: importing this module loads no contracts
    from playball_events.contract_topics import Topic

# The PostgreSQL NOTIFY channel the writer signals in the transaction that adds outbox
# rows; the relay LISTENs on it so it wakes right after the commit instead of polling.
OUTBOX_CHANNEL = "playball_outbox"


def headers_of(text_headers: str | None) -> dict[str, str]:
    """A row's extra Kafka headers, read as text.

    Most rows carry "{}", and decoding JSON for each costs more than the rest of the row.
    """
    if text_headers in (None, "{}", "null"):
        return {}
    return {str(k): str(v) for k, v in (json.loads(text_headers) or {}).items()}


class OutboxState(StrEnum):
    PENDING = "pending"  # waiting to be delivered (or retried at next_attempt_at)
    SENT = "sent"  # acked by the broker; cleanup removes it after the retention
    PARKED = "parked"  # can never be delivered as it is; blocks its aggregate until retried


class ContractRecord(Protocol):
    """What the outbox needs of a record of a generated contract class."""

    @property
    def event_id(self) -> uuid.UUID: ...

    @property
    def occurred_at(self) -> datetime: ...

    @classmethod
    def avro_schema(cls) -> dict[str, Any]: ...

    def to_avro_bytes(self) -> bytes: ...


def schema_fingerprint(schema: dict[str, Any]) -> str:
    """sha256 of the schema's canonical JSON without ``doc`` and ``*:tags``: which class
    version wrote a payload.

    The relay delivers a payload only under the schema that wrote it; a row written by an
    older deploy whose schema the relay no longer has is parked, never mislabelled.
    Documentation and tags (``"confluent:tags": ["PII"]``) change neither the bytes nor
    their meaning, so editing them parks nothing.
    """
    return _sha256_json(without_annotations(schema))


def legacy_schema_fingerprints(schema: dict[str, Any]) -> frozenset[str]:
    """Fingerprints a deploy before tags were ignored gave rows of this class's schema.

    Those deploys hashed the whole schema, ``doc`` and all. A row they wrote with the same
    schema, or with the same schema before its tags were added, is still delivered; one
    written under other documentation is parked, as it was then.
    """
    return frozenset({_sha256_json(schema), _sha256_json(without_tags(schema))})


def _sha256_json(schema: Any) -> str:
    text = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewOutboxEvent:
    """One row to insert. ``payload`` is the schemaless Avro body, written at flush time."""

    event_id: uuid.UUID
    aggregate_id: str
    aggregate_version: int
    record_type: str  # the record's full Avro name
    topic: str
    subject: str
    payload: bytes
    schema_fingerprint: str
    created_at: datetime  # the record's occurred_at, UTC (not the commit time)
    headers: dict[str, str] = field(default_factory=dict)


@functools.cache
def _class_fingerprint(record_class: type[ContractRecord]) -> str:
    # once per class: copying and hashing the schema costs several times the Avro body
    return schema_fingerprint(record_class.avro_schema())


def new_outbox_event(
    record: ContractRecord, topic: "Topic", *, aggregate_id: str, aggregate_version: int
) -> NewOutboxEvent:
    """The outbox row of ``record`` on ``topic``: the one way a contract record is enqueued.

    The payload is the schemaless Avro body written by the record's class; the relay adds
    the Confluent header (the schema id) when it sends, so the registry is never on the
    write path. The row's ``created_at`` is the record's ``occurred_at``.
    """
    subject = topic.subject_of(type(record))
    return NewOutboxEvent(
        event_id=record.event_id,
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
        record_type=subject.record_full_name,
        topic=topic.name,
        subject=subject.name,
        payload=record.to_avro_bytes(),
        schema_fingerprint=_class_fingerprint(type(record)),
        created_at=record.occurred_at,
    )
