"""What a reader record says about one consumer instance, and the record's key.

Pure: no Kafka here. The key is ``<service>/<consumer group>/<topic>/<instance id>`` with
a UUID per start, so the instances of one group never overwrite each other's record: in
a rolling deploy the old version's reader is exactly the one the gate must still see.
"""

import datetime as dt
import hashlib
import json
import os
import socket
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol

from fastavro import parse_schema
from fastavro.schema import to_parsing_canonical_form

from playball_events.runtime_records import ReaderRecord, ReaderSchema

# Where a build puts the commit it was made from; absent on a developer's checkout.
GIT_SHA_VARIABLE = "PLAYBALL_GIT_SHA"


class ReaderClass(Protocol):
    """A generated record class a consumer decodes with (its schema is the reader's)."""

    @classmethod
    def avro_schema(cls) -> dict[str, Any]: ...


def fingerprint(schema: Mapping[str, Any]) -> str:
    """sha256 (hex) of the schema's Parsing Canonical Form: equal for schemas that differ
    only in docs, defaults, aliases or order of attributes."""
    canonical = to_parsing_canonical_form(parse_schema(dict(schema), _write_hint=False))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def reader_schemas(classes: Iterable[type[ReaderClass]]) -> list[ReaderSchema]:
    """One entry per record type, sorted by name: the full schema as Avro JSON."""
    entries = []
    for cls in classes:
        schema = cls.avro_schema()
        name = schema["name"]
        namespace = schema.get("namespace")
        full_name = name if "." in name or not namespace else f"{namespace}.{name}"
        entries.append(
            ReaderSchema(
                record_name=full_name,
                schema=json.dumps(schema, sort_keys=True),
                fingerprint=fingerprint(schema),
            )
        )
    return sorted(entries, key=lambda entry: entry.record_name)


def package_version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True, slots=True)
class ReaderIdentity:
    service: str
    version: str
    git_sha: str | None
    consumer_group: str
    topic: str
    instance_id: uuid.UUID
    host: str
    started_at: dt.datetime
    readers: tuple[ReaderSchema, ...]

    @property
    def key(self) -> str:
        return reader_key(self.service, self.consumer_group, self.topic, self.instance_id)

    def record(self, last_seen: dt.datetime, stopped_at: dt.datetime | None = None) -> ReaderRecord:
        return ReaderRecord(
            service=self.service,
            version=self.version,
            git_sha=self.git_sha,
            consumer_group=self.consumer_group,
            topic=self.topic,
            instance_id=self.instance_id,
            host=self.host,
            started_at=self.started_at,
            last_seen=last_seen,
            stopped_at=stopped_at,
            readers=list(self.readers),
        )


def reader_key(service: str, consumer_group: str, topic: str, instance_id: uuid.UUID) -> str:
    return f"{service}/{consumer_group}/{topic}/{instance_id}"


def new_identity(
    *,
    service: str,
    distribution: str,
    consumer_group: str,
    topic: str,
    classes: Iterable[type[ReaderClass]],
    now: dt.datetime,
) -> ReaderIdentity:
    """The identity of an instance starting now: a fresh instance id, this host."""
    return ReaderIdentity(
        service=service,
        version=package_version(distribution),
        git_sha=os.environ.get(GIT_SHA_VARIABLE) or None,
        consumer_group=consumer_group,
        topic=topic,
        instance_id=uuid.uuid4(),
        host=socket.gethostname(),
        started_at=now,
        readers=tuple(reader_schemas(classes)),
    )
