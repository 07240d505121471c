"""The Confluent header of an outbox payload: magic byte 0 + the id of the writing schema.

The payload was written at flush time by a generated class; the header is only added here,
at delivery, so a registry outage never fails an API write. An event is delivered under
the schema that wrote it or not at all: when the registry does not hold that schema
under the event's subject, or the class deployed here is another version than the one
that wrote the row, the event is undeliverable and gets parked.
"""

import functools
import json
import re
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from playball_core.avro.names import schema_full_name
from playball_core.manifest import topic_record_subject
from playball_core.registry import SchemaRegistry

from playball_events.outbox.model import (
    ContractRecord,
    legacy_schema_fingerprints,
    schema_fingerprint,
)
from playball_events.outbox.ports import OutboxEvent
from playball_events.serde import header


class UndeliverableEventError(Exception):
    """This event can never be delivered as it is; the message is the parking reason."""


def contract_records() -> dict[str, type[Any]]:
    """Every generated record class of the manifest's topics, by full Avro name."""
    from playball_events.contracts.topics import ALL_TOPICS  # noqa: PLC0415 - generated, heavy

    return {s.record_full_name: s.record for topic in ALL_TOPICS for s in topic.subjects}


# A UUID already in canonical form (what the services write) is its own canonical string:
# matching it is several times cheaper than parsing and printing it, once per message.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def message_key(event: OutboxEvent) -> bytes:
    """The user id as the UTF-8 bytes of its canonical UUID string (one partition per user)."""
    return _key_of(event.aggregate_id)


# A user's events come in runs (a backlog holds several of each): a key found once is
# looked up after, a fifth of the match's cost. Bounded: a few MB at most.
@functools.lru_cache(maxsize=65_536)
def _key_of(aggregate_id: str) -> bytes:
    if _CANONICAL_UUID.fullmatch(aggregate_id):
        return aggregate_id.encode()
    try:
        return str(uuid.UUID(aggregate_id)).encode()
    except ValueError as exc:
        msg = f"aggregate id {aggregate_id!r} is not a UUID, so it cannot key the message"
        raise UndeliverableEventError(msg) from exc


def uuid_text(value: uuid.UUID) -> bytes:
    """``str(value).encode()``, in four fifths of the time (``UUID.__str__`` formats with
    ``%``, once per message here)."""
    h = "%032x" % value.int  # noqa: UP031 - an int's hex digits, zero-padded: the fast way
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}".encode()


class SchemaHeaders:
    """Finds (and caches) the header of each (subject, writing schema) pair."""

    def __init__(
        self, registry: SchemaRegistry, records: Mapping[str, type[ContractRecord]] | None = None
    ) -> None:
        self._registry = registry
        self._records = dict(records) if records is not None else contract_records()
        # Fingerprint and text of each class's current schema, computed once, and the
        # fingerprints of rows that schema may have written under the earlier algorithm.
        self._schemas: dict[str, tuple[str, str]] = {}
        self._legacy: dict[str, frozenset[str]] = {}
        for name, cls in self._records.items():
            schema = cls.avro_schema()
            self._schemas[name] = (schema_fingerprint(schema), json.dumps(schema))
            self._legacy[name] = legacy_schema_fingerprints(schema)
        # Only successes are cached: a missing schema is looked up again after `retry`.
        self._headers: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()

    def header(self, event: OutboxEvent) -> bytes:
        """The 5-byte header; UndeliverableEventError, or a RegistryError worth retrying."""
        cached = self._headers.get((event.subject, event.schema_fingerprint))
        if cached is not None:
            return cached
        known = self._schemas.get(event.record_type)
        if known is None:
            msg = f"record type {event.record_type!r} is not a contract this relay knows"
            raise UndeliverableEventError(msg)
        fingerprint, text = known
        if (
            event.schema_fingerprint != fingerprint
            and event.schema_fingerprint not in self._legacy[event.record_type]
        ):
            msg = (
                f"payload written by another version of {event.record_type} (schema "
                f"fingerprint {event.schema_fingerprint[:12]}, this deploy has {fingerprint[:12]})"
            )
            raise UndeliverableEventError(msg)
        expected = topic_record_subject(event.topic, schema_full_name(json.loads(text)))
        if event.subject != expected:
            msg = f"subject {event.subject!r} is not {expected!r} (topic-record name rule)"
            raise UndeliverableEventError(msg)
        found = self._registry.lookup(event.subject, text)  # RegistryError propagates
        if found is None:
            msg = (
                f"schema of {event.record_type} is not registered under subject "
                f"{event.subject!r}; register it (playball schemas register), then retry"
            )
            raise UndeliverableEventError(msg)
        value = header(found.id)
        with self._lock:
            self._headers[(event.subject, event.schema_fingerprint)] = value
        return value
