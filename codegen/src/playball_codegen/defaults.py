"""Validation of field defaults against their types, and their Python values.

Avro writes defaults in JSON: bytes and fixed as strings of code points 0-255, logical
types in their underlying encoding. A union's default may be a value of any branch, as
Java Avro 1.12 and fastavro accept; the first branch it fits is the one it belongs to.
"""

import datetime as dt
import decimal
import uuid
from typing import Any

from playball_core.avro.schema import (
    ArrayType,
    AvroType,
    EnumType,
    FixedType,
    Kind,
    MapType,
    NamedType,
    RecordType,
    UnionType,
)

from playball_codegen.logical import (
    decimal_precision,
    decimal_scale,
    is_decimal_fixed,
    mapped_logical,
)

INT_RANGE = (-(2**31), 2**31 - 1)
LONG_RANGE = (-(2**63), 2**63 - 1)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROS_PER_DAY = 86_400_000_000


class DefaultError(ValueError):
    """A default does not match its type; the message says where and why."""


def _where(path: str) -> str:
    return f" at {path}" if path else ""


def _expect(condition: bool, path: str, expected: str, value: Any) -> None:
    if not condition:
        msg = f"expected {expected}, got {value!r}{_where(path)}"
        raise DefaultError(msg)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(value: Any, bounds: tuple[int, int], what: str, path: str) -> int:
    _expect(_is_int(value) and bounds[0] <= value <= bounds[1], path, what, value)
    result: int = value
    return result


def json_bytes(value: Any, path: str) -> bytes:
    _expect(isinstance(value, str), path, "a string of code points 0-255", value)
    try:
        return str(value).encode("latin-1")
    except UnicodeEncodeError as exc:
        msg = f"bytes default has a code point above 255{_where(path)}"
        raise DefaultError(msg) from exc


def decimal_value(raw: bytes, scale: int) -> decimal.Decimal:
    unscaled = int.from_bytes(raw, "big", signed=True)
    return decimal.Decimal(unscaled).scaleb(-scale)


def logical_value(avro_type: AvroType, value: Any, path: str) -> Any:
    """The Python value of a mapped logical type's JSON default (validated)."""
    kind = avro_type.logical_type or ""
    if kind == "uuid":
        _expect(isinstance(value, str), path, "a UUID string", value)
        try:
            return uuid.UUID(value)
        except ValueError as exc:
            msg = f"expected a UUID string, got {value!r}{_where(path)}"
            raise DefaultError(msg) from exc
    if kind == "decimal":
        number = decimal_value(json_bytes(value, path), decimal_scale(avro_type))
        precision = decimal_precision(avro_type)
        if len(number.as_tuple().digits) > precision:
            msg = f"decimal default {number} exceeds precision {precision}{_where(path)}"
            raise DefaultError(msg)
        return number
    if kind == "date":
        days = _check_int(value, INT_RANGE, "an int (days since 1970-01-01)", path)
        return _convert(lambda: EPOCH.date() + dt.timedelta(days=days), value, path)
    if kind in ("time-millis", "time-micros"):
        unit = 1000 if kind == "time-millis" else 1
        bounds = (0, MICROS_PER_DAY // unit - 1)
        count = _check_int(value, bounds, f"a time of day in {kind[5:]}", path)
        micros = count * unit
        return dt.time(
            micros // 3_600_000_000,
            micros // 60_000_000 % 60,
            micros // 1_000_000 % 60,
            micros % 1_000_000,
        )
    count = _check_int(value, LONG_RANGE, "a long", path)
    unit = 1000 if kind.endswith("millis") else 1
    if kind.startswith("local-"):
        naive = EPOCH.replace(tzinfo=None)
        return _convert(lambda: naive + dt.timedelta(microseconds=count * unit), value, path)
    return _convert(lambda: EPOCH + dt.timedelta(microseconds=count * unit), value, path)


def _convert(make: Any, value: Any, path: str) -> Any:
    try:
        return make()
    except OverflowError as exc:
        msg = f"{value!r} is outside the range Python dates can hold{_where(path)}"
        raise DefaultError(msg) from exc


def check_default(avro_type: AvroType, value: Any, path: str = "") -> None:
    match avro_type:
        case UnionType():
            default_branch(avro_type, value, path)
        case ArrayType(items=items):
            _expect(isinstance(value, list), path, "an array", value)
            for index, item in enumerate(value):
                check_default(items, item, f"{path}[{index}]")
        case MapType(values=values):
            _expect(isinstance(value, dict), path, "an object (map)", value)
            for key, item in value.items():
                check_default(values, item, f"{path}[{key!r}]")
        case NamedType():
            _check_named(avro_type, value, path)
        case _ if mapped_logical(avro_type) is not None:
            logical_value(avro_type, value, path)
        case _:
            _check_primitive(avro_type.kind, value, path)


def _check_primitive(kind: Kind, value: Any, path: str) -> None:
    match kind:
        case Kind.NULL:
            _expect(value is None, path, "null", value)
        case Kind.BOOLEAN:
            _expect(isinstance(value, bool), path, "a boolean", value)
        case Kind.INT:
            _check_int(value, INT_RANGE, "an int (32-bit)", path)
        case Kind.LONG:
            _check_int(value, LONG_RANGE, "a long (64-bit)", path)
        case Kind.FLOAT | Kind.DOUBLE:
            _expect(_is_int(value) or isinstance(value, float), path, "a number", value)
        case Kind.BYTES:
            json_bytes(value, path)
        case Kind.STRING:
            _expect(isinstance(value, str), path, "a string", value)


def _check_named(definition: NamedType, value: Any, path: str) -> None:
    if isinstance(definition, EnumType):
        _expect(value in definition.symbols, path, f"a symbol of {definition.full_name}", value)
    elif isinstance(definition, FixedType):
        raw = json_bytes(value, path)
        if len(raw) != definition.size:
            msg = f"fixed {definition.full_name} needs {definition.size} bytes, got {len(raw)}"
            raise DefaultError(msg + _where(path))
        if is_decimal_fixed(definition):
            logical_value(definition, value, path)
    elif isinstance(definition, RecordType):
        _expect(isinstance(value, dict), path, f"an object ({definition.full_name})", value)
        for field in definition.fields:
            field_path = f"{path}.{field.name}"
            if field.name in value:
                check_default(field.type, value[field.name], field_path)
            elif not field.has_default:
                msg = f"missing field {field.name!r} (it has no default){_where(field_path)}"
                raise DefaultError(msg)


def default_branch(union: UnionType, value: Any, path: str = "") -> AvroType:
    """The first branch of ``union`` the default fits: the branch it is a value of."""
    reasons: list[str] = []
    for branch in union.branches:
        try:
            check_default(branch, value, path)
        except DefaultError as exc:
            reasons.append(str(exc))
            continue
        return branch
    msg = "no branch of the union takes it: " + "; ".join(reasons)
    raise DefaultError(msg)
