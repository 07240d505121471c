"""An outbox event as the writer creates it and the relay delivers it, free of SQL."""

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

# The Postgres NOTIFY channel the writer signals at commit and the relay LISTENs on.
OUTBOX_CHANNEL = "playball_outbox"


class OutboxState(StrEnum):
    PENDING = "pending"  # waiting to be delivered (or retried at next_attempt_at)
    SENT = "sent"  # acked by the broker; cleanup removes it after the retention
    PARKED = "parked"  # can never be delivered as it is; blocks its aggregate until retried


class ContractRecord(Protocol):
    """What the outbox needs of a generated record class."""

    @classmethod
    def avro_schema(cls) -> dict[str, Any]: ...

    def to_avro_bytes(self) -> bytes: ...


def schema_fingerprint(schema: dict[str, Any]) -> str:
    """sha256 of the schema's canonical JSON: which class version wrote a payload.

    The relay delivers a payload only under the schema that wrote it; a row written by an
    older deploy whose schema the relay no longer has is parked, never mislabelled.
    """
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
    created_at: datetime  # the flush time, UTC (not the commit time)
    headers: dict[str, str] = field(default_factory=dict)
