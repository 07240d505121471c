"""Confluent wire format for generated record classes: magic byte 0, schema id, Avro body.

Subjects follow the manifest's TopicRecordNameStrategy (``<topic>-<record full name>``),
so one topic carries several record types. Schema ids are looked up once per class and
writer schemas fetched once per id; nothing is registered unless asked to, because
registration belongs to the schema workflow (``playball schemas register``).

A deserializer given its topic reads only schema ids registered under that topic's
subjects (:class:`~playball_events.serde_errors.ForeignSchemaError` otherwise). Its
caches are keyed by the ids messages carry, which a producer chooses, so they are
bounded (:data:`SCHEMA_CACHE_SIZE` ids each, least recently used dropped first).
"""

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, Protocol, Self, TypeVar

from fastavro.read import SchemaResolutionError
from playball_core.avro.names import alias_full_names, schema_full_name
from playball_core.manifest import topic_record_subject
from playball_core.registry import SchemaRegistry

from playball_events.bounded_cache import BoundedCache
from playball_events.serde_errors import (
    ForeignSchemaError,
    IncompatibleWriterSchemaError,
    InvalidRecordError,
    MalformedBodyError,
    SchemaNotRegisteredError,
    SerdeError,
    TruncatedMessageError,
    UnexpectedRecordTypeError,
    UnhandledRecordTypeError,
    UnknownMagicByteError,
)

MAGIC_BYTE = 0
HEADER_SIZE = 5
# Schema ids a deserializer keeps a decoder (and a writer schema) for. A topic's records
# have a handful of versions each; 256 is far more than a healthy topic uses and bounds
# what a stream of made-up ids can make it hold.
SCHEMA_CACHE_SIZE = 256


class AvroRecord(Protocol):
    """What the serde needs of a generated class."""

    @classmethod
    def avro_schema(cls) -> dict[str, Any]: ...

    def to_avro_bytes(self) -> bytes: ...

    @classmethod
    def avro_decoder(
        cls, writer_schema: Mapping[str, Any] | None = None
    ) -> Callable[[bytes], Self]: ...


R = TypeVar("R", bound=AvroRecord)


def header(schema_id: int) -> bytes:
    return bytes([MAGIC_BYTE]) + schema_id.to_bytes(4, "big")


class RecordSerializer:
    """Serializes generated records for one topic."""

    def __init__(self, registry: SchemaRegistry, topic: str, *, auto_register: bool = False):
        self._registry = registry
        self._topic = topic
        self._auto_register = auto_register
        self._headers: dict[type[AvroRecord], bytes] = {}
        # Held only on a cache miss, so concurrent first uses (the outbox relay serializes
        # from worker threads) ask the registry once; hits read the dict without it.
        self._lock = threading.Lock()

    def subject(self, record_class: type[AvroRecord]) -> str:
        return topic_record_subject(self._topic, schema_full_name(record_class.avro_schema()))

    def schema_id(self, record_class: type[AvroRecord]) -> int:
        return int.from_bytes(self._header(record_class)[1:], "big")

    def _header(self, record_class: type[AvroRecord]) -> bytes:
        with self._lock:
            found = self._headers.get(record_class)
            if found is None:
                found = self._headers[record_class] = self._fetch_header(record_class)
        return found

    def _fetch_header(self, record_class: type[AvroRecord]) -> bytes:
        subject = self.subject(record_class)
        schema = json.dumps(record_class.avro_schema())
        found = self._registry.lookup(subject, schema)
        schema_id = None if found is None else found.id
        if schema_id is None and self._auto_register:
            schema_id = self._registry.register(subject, schema)
        if schema_id is None:
            msg = (
                f"schema of {record_class.__name__} is not registered under subject "
                f"{subject!r}; register it with the schema workflow (auto-register is off)"
            )
            raise SchemaNotRegisteredError(msg)
        return header(schema_id)

    def serialize(self, record: AvroRecord) -> bytes:
        found = self._headers.get(type(record))
        try:
            body = record.to_avro_bytes()
        except (ValueError, TypeError, OverflowError) as exc:
            msg = f"{type(record).__name__} cannot be encoded with its schema: {exc}"
            raise InvalidRecordError(msg) from exc
        return (found or self._header(type(record))) + body


class RecordDeserializer(Generic[R]):
    """Deserializes messages of a topic carrying the given record classes.

    The class is chosen by the writer schema's full name (or a reader alias), and the
    writer's version is resolved into it with Avro's rules. With ``topic``, a schema id
    must also be registered under that topic's subject for its record
    (``<topic>-<full name>``), or the message is refused as foreign.
    """

    def __init__(
        self,
        registry: SchemaRegistry,
        reader_classes: Iterable[type[R]],
        *,
        topic: str | None = None,
        cache_size: int = SCHEMA_CACHE_SIZE,
    ):
        self._registry = registry
        self._topic = topic
        self._classes: dict[str, type[R]] = {}
        for cls in reader_classes:
            schema = cls.avro_schema()
            for name in (schema_full_name(schema), *alias_full_names(schema)):
                self._classes[name] = cls
        # By schema id: the decoder, or for a record type this reader does not take, a
        # function raising UnhandledRecordTypeError (a verdict no registration changes).
        self._decoders: BoundedCache[int, Callable[[bytes], R]] = BoundedCache(cache_size)
        # Writer schemas by id, kept even when no decoder is, so a stream of messages that
        # fail on their id (foreign, unreadable) does not fetch the schema again each time.
        self._writers: BoundedCache[int, str] = BoundedCache(cache_size)
        self._lock = threading.Lock()  # on a cache miss only: one fetch per id across threads

    def _decoder(self, schema_id: int) -> Callable[[bytes], R]:
        with self._lock:
            found = self._decoders.get(schema_id)
            if found is None:
                found = self._make_decoder(schema_id)
                self._decoders.put(schema_id, found)
        return found

    def _writer_text(self, schema_id: int) -> str:
        text = self._writers.get(schema_id)
        if text is None:
            text = self._registry.schema_by_id(schema_id)
            self._writers.put(schema_id, text)
        return text

    def _make_decoder(self, schema_id: int) -> Callable[[bytes], R]:
        text = self._writer_text(schema_id)
        try:
            writer = json.loads(text)
            name = schema_full_name(writer)
        except (ValueError, KeyError, TypeError) as exc:
            msg = f"schema id {schema_id} is not an Avro record schema: {exc}"
            raise UnexpectedRecordTypeError(msg) from exc
        if self._topic is not None:
            # Not cached when refused: registering the schema under the topic's subject
            # (then redriving) must make the same id readable without a restart.
            self._require_topic_subject(schema_id, name, text, self._topic)
        cls = self._classes.get(name)
        if cls is None:
            known = ", ".join(sorted(self._classes))
            msg = f"schema id {schema_id} writes {name!r}; this deserializer reads {known}"
            return _refusing(msg, name)
        try:
            decoder = cls.avro_decoder(writer)
        except Exception as exc:
            msg = f"schema id {schema_id} ({name}) does not parse: {exc}"
            raise IncompatibleWriterSchemaError(msg) from exc
        return decoder

    def _require_topic_subject(self, schema_id: int, name: str, text: str, topic: str) -> None:
        subject = topic_record_subject(topic, name)
        found = self._registry.lookup(subject, text)
        if found is None or found.id != schema_id:
            msg = (
                f"schema id {schema_id} ({name!r}) is not registered under subject "
                f"{subject!r} of topic {topic!r}: a foreign schema (registered for another "
                "topic, or by someone else), so its message is not read as this topic's"
            )
            raise ForeignSchemaError(msg)

    def deserialize(self, data: bytes) -> R:
        if len(data) < HEADER_SIZE:
            msg = f"message of {len(data)} bytes is shorter than the {HEADER_SIZE}-byte header"
            raise TruncatedMessageError(msg)
        if data[0] != MAGIC_BYTE:
            msg = f"unknown magic byte {data[0]} (Confluent wire format starts with 0)"
            raise UnknownMagicByteError(msg)
        schema_id = int.from_bytes(data[1:HEADER_SIZE], "big")
        decoder = self._decoders.get(schema_id) or self._decoder(schema_id)
        try:
            return decoder(data[HEADER_SIZE:])
        except SerdeError:
            raise
        except SchemaResolutionError as exc:
            msg = f"schema id {schema_id} cannot be read as the reader class: {exc}"
            raise IncompatibleWriterSchemaError(msg) from exc
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            msg = f"body of {len(data) - HEADER_SIZE} bytes (schema id {schema_id}): {reason}"
            raise MalformedBodyError(msg) from exc


def _refusing(message: str, record_type: str) -> Callable[[bytes], Any]:
    """A decoder that refuses every body: a record type the reader does not take."""

    def refuse(_body: bytes) -> Any:
        raise UnhandledRecordTypeError(message, record_type)

    return refuse
