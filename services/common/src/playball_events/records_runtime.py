"""What the generated record classes call at run time: checks, fast-path conversions, codecs.

Generic, hand-written and tested here: ``playball codegen`` emits classes (such as
:mod:`playball_events.contracts`) that import this module as ``_runtime`` and call it;
nothing else should. Its names are the generator's contract (``playball_codegen.render``
and the modules it uses spell them). A writer schema goes through
:func:`playball_core.avro.normalise_writer` before fastavro parses it, so a schema a Java
producer registered (an ignored invalid logical type) decodes here too.
"""

import copy
import dataclasses
import datetime as _dt
import decimal as _decimal
import functools
import io
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final

import fastavro
from fastavro.schema import to_parsing_canonical_form
from playball_core.avro import normalise_writer

from playball_events.bounded_cache import BoundedCache
from playball_events.redaction import REDACTED, personal_fields, redact


class AvroValueError(ValueError):
    """A value does not fit its Avro type; the message names the field and the rule."""


class _Missing:
    """Stands for a reader field the writer did not have; the class default fills it."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def _shown(value: object, personal: bool) -> str:
    """A value as an error message quotes it: :data:`REDACTED` for a personal field's."""
    return REDACTED if personal else repr(value)


def naive_timestamp(where: str, value: _dt.datetime, *, personal: bool = False) -> AvroValueError:
    return AvroValueError(
        f"{where}: {_shown(value, personal)} is a naive datetime; this timestamp needs an "
        "aware one (for example datetime.now(datetime.UTC))"
    )


def aware_local_timestamp(
    where: str, value: _dt.datetime, *, personal: bool = False
) -> AvroValueError:
    return AvroValueError(
        f"{where}: {_shown(value, personal)} has a time zone; a local-timestamp holds a "
        "naive datetime"
    )


def require_fixed(value: bytes, size: int, where: str) -> None:
    if len(value) != size:
        msg = f"{where}: fixed needs exactly {size} bytes, got {len(value)}"
        raise AvroValueError(msg)


def require_decimal(
    value: _decimal.Decimal, precision: int, scale: int, where: str, *, personal: bool = False
) -> None:
    shown = REDACTED if personal else str(value)
    if not value.is_finite():
        msg = f"{where}: {shown} is not a finite decimal"
        raise AvroValueError(msg)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -scale:
        msg = f"{where}: {shown} has more than {scale} digits after the point (scale {scale})"
        raise AvroValueError(msg)
    unscaled = abs(int(value.scaleb(scale)))
    if len(str(unscaled)) > precision and unscaled != 0:
        msg = f"{where}: {shown} has more than {precision} digits (precision {precision})"
        raise AvroValueError(msg)


def record_repr(record: object) -> str:
    """``Class(field=value, ...)`` as a dataclass shows it, personal fields as ``<PII>``.

    The ``repr`` (and so ``str``) of a generated class with fields tagged ``PII``: a
    record in a log line, an exception or a debugger's listing never shows their values.
    """
    personal = set(personal_fields(record))
    parts = [
        f"{field.name}={REDACTED if field.name in personal else _field_repr(record, field.name)}"
        for field in dataclasses.fields(record)  # type: ignore[arg-type]
        if field.repr
    ]
    return f"{type(record).__qualname__}({', '.join(parts)})"


_repr_active = threading.local()


def _field_repr(record: object, name: str) -> str:
    # A list inside a frozen record can still be made to hold the record itself: guard the
    # cycle as dataclasses' own repr does.
    active: set[int] = _repr_active.__dict__.setdefault("ids", set())
    key = id(record)
    if key in active:
        return "..."
    active.add(key)
    try:
        return repr(getattr(record, name))
    finally:
        active.discard(key)


# Fast paths for a record's own logical-type fields: the generated class converts them
# itself and fastavro writes plain primitives (its generic logical-type dispatch is the
# largest cost in a small record). The results are the ones fastavro produces.
EPOCH: Final = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
EPOCH_NAIVE: Final = _dt.datetime(1970, 1, 1)  # local timestamps are naive
EPOCH_DAY: Final = EPOCH_NAIVE.toordinal()
MICROSECOND: Final = _dt.timedelta(microseconds=1)
MILLISECOND: Final = _dt.timedelta(milliseconds=1)


def timestamp_micros(value: _dt.datetime) -> int:
    return (value - EPOCH) // MICROSECOND


def timestamp_millis(value: _dt.datetime) -> int:
    return (value - EPOCH) // MILLISECOND


def local_timestamp_micros(value: _dt.datetime) -> int:
    return (value - EPOCH_NAIVE) // MICROSECOND


def local_timestamp_millis(value: _dt.datetime) -> int:
    return (value - EPOCH_NAIVE) // MILLISECOND


def date_days(value: _dt.date) -> int:
    return value.toordinal() - EPOCH_DAY


def time_micros(value: _dt.time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def time_millis(value: _dt.time) -> int:
    return time_micros(value) // 1000


def from_timestamp_micros(value: int) -> _dt.datetime:
    return EPOCH + _dt.timedelta(microseconds=value)


def from_timestamp_millis(value: int) -> _dt.datetime:
    return EPOCH + _dt.timedelta(milliseconds=value)


def from_local_timestamp_micros(value: int) -> _dt.datetime:
    return EPOCH_NAIVE + _dt.timedelta(microseconds=value)


def from_local_timestamp_millis(value: int) -> _dt.datetime:
    return EPOCH_NAIVE + _dt.timedelta(milliseconds=value)


def from_date_days(value: int) -> _dt.date:
    return _dt.date.fromordinal(value + EPOCH_DAY)


def from_time_micros(value: int) -> _dt.time:
    seconds, micros = divmod(value, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return _dt.time(hour, minute, second, micros)


def from_time_millis(value: int) -> _dt.time:
    return from_time_micros(value * 1000)


def canonical_json(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


def _without_field_defaults(node: Any, seen: dict[int, Any]) -> Any:
    """A parsed reader schema whose field defaults are :data:`MISSING`.

    fastavro fills a missing field with the raw JSON default (a string for a uuid, an
    int for a timestamp, one list shared by every read); the generated class has the
    same default already converted, so it fills the gap instead.
    """
    if id(node) in seen:
        return seen[id(node)]
    if isinstance(node, list):
        copied_list: list[Any] = []
        seen[id(node)] = copied_list
        copied_list.extend(_without_field_defaults(item, seen) for item in node)
        return copied_list
    if not isinstance(node, dict):
        return node
    copied: dict[str, Any] = {}
    seen[id(node)] = copied
    for key, value in node.items():
        copied[key] = _without_field_defaults(value, seen)
    if copied.get("type") in ("record", "error"):
        for field in copied["fields"]:
            if "default" in field:
                field["default"] = MISSING
    return copied


def _wire_schema(schema: dict[str, Any], wire_fields: tuple[str, ...]) -> dict[str, Any]:
    """The schema with the logical types of ``wire_fields`` removed (same binary encoding)."""
    wire = copy.deepcopy(schema)
    for field in wire["fields"]:
        if field["name"] in wire_fields:
            field["type"] = field["type"]["type"]
    return wire


PRIMITIVES: Final = ("null", "boolean", "int", "long", "float", "double", "bytes", "string")


def _is_named(branch: Any) -> bool:
    kind = branch.get("type") if isinstance(branch, dict) else branch
    return isinstance(kind, str) and kind not in PRIMITIVES and kind not in ("array", "map")


def _has_named_union(node: Any) -> bool:
    """Whether some union holds a named type (then reads must tag the branch)."""
    if isinstance(node, list):
        return any(_is_named(branch) or _has_named_union(branch) for branch in node)
    if not isinstance(node, dict):
        return False
    kind = node.get("type")
    if kind in ("record", "error"):
        return any(_has_named_union(field["type"]) for field in node["fields"])
    if kind == "array":
        return _has_named_union(node["items"])
    if kind == "map":
        return _has_named_union(node["values"])
    return isinstance(kind, dict | list) and _has_named_union(kind)


# Writer schemas a class keeps a resolver for: a record has a handful of versions; the
# bound keeps schemas registered by anyone from growing it without end.
RESOLVER_CACHE_SIZE = 64


class RecordCodec:
    """The schema of one generated class, parsed once, and its readers by writer schema.

    ``wire_fields`` are the record's own logical-type fields the generated class
    converts itself on its fast path (:meth:`encode` / :meth:`decode`); the dict form
    (``to_avro`` / ``from_avro``) and schema resolution use the full schema.
    """

    __slots__ = (
        "_decoders",
        "_lock",
        "_reader_for_resolution",
        "_tag_named",
        "canonical_form",
        "parsed",
        "schema",
        "wire_parsed",
    )

    def __init__(self, schema: dict[str, Any], wire_fields: tuple[str, ...] = ()) -> None:
        self.schema = schema
        self.parsed = fastavro.parse_schema(copy.deepcopy(schema))
        self.wire_parsed = (
            fastavro.parse_schema(_wire_schema(schema, wire_fields)) if wire_fields else self.parsed
        )
        self.canonical_form: str = to_parsing_canonical_form(self.parsed)
        self._tag_named = _has_named_union(schema)
        self._reader_for_resolution: Any = None
        # in a 1-tuple, so a cached None (the writer is this schema) is not a miss
        self._decoders: BoundedCache[str, tuple[Callable[[bytes], Any] | None]] = BoundedCache(
            RESOLVER_CACHE_SIZE
        )
        # Taken on a cache miss only: threads sharing a class parse each writer schema once.
        self._lock = threading.Lock()

    def schema_copy(self) -> dict[str, Any]:
        return copy.deepcopy(self.schema)

    def encode(self, datum: Mapping[str, Any], record: object = None) -> bytes:
        """Binary of a datum in the fast-path form (``wire_fields`` as primitives).

        ``record`` is the instance the datum was made of: when fastavro refuses the
        datum, its message (which may quote the datum) loses ``record``'s personal values.
        """
        buffer = io.BytesIO()
        try:
            fastavro.schemaless_writer(buffer, self.wire_parsed, datum)
        except (ValueError, TypeError, OverflowError) as exc:
            if record is None or not personal_fields(record):
                raise
            # from None: the original message, values and all, must not ride along in a
            # logged traceback's "direct cause".
            error = TypeError if isinstance(exc, TypeError) else AvroValueError
            raise error(f"{type(exc).__name__}: {redact(str(exc), [record])}") from None
        return buffer.getvalue()

    def decode(self, data: bytes) -> Any:
        """The fast-path form of bytes written with this schema."""
        if self._tag_named:
            return fastavro.schemaless_reader(
                io.BytesIO(data), self.wire_parsed, None, return_named_type=True
            )
        return fastavro.schemaless_reader(io.BytesIO(data), self.wire_parsed, None)

    def resolver(self, writer_schema: Mapping[str, Any] | None) -> Callable[[bytes], Any] | None:
        """Reads bytes of ``writer_schema`` into the dict form; None when it is this schema."""
        if writer_schema is None:
            return None
        key = canonical_json(writer_schema)
        found = self._decoders.get(key)
        if found is not None:
            return found[0]
        with self._lock:
            found = self._decoders.get(key)
            if found is None:
                found = (self._make_resolver(writer_schema),)
                self._decoders.put(key, found)
            return found[0]

    def _make_resolver(self, writer_schema: Mapping[str, Any]) -> Callable[[bytes], Any] | None:
        # Java ignores an invalid logical type where fastavro refuses the schema.
        parsed_writer = fastavro.parse_schema(normalise_writer(writer_schema))
        if to_parsing_canonical_form(parsed_writer) == self.canonical_form:
            return None
        if self._reader_for_resolution is None:
            self._reader_for_resolution = _without_field_defaults(self.parsed, {})
        return functools.partial(_resolve, parsed_writer, self._reader_for_resolution)


def _resolve(writer: Any, reader: Any, data: bytes) -> Any:
    return fastavro.schemaless_reader(io.BytesIO(data), writer, reader, return_named_type=True)
