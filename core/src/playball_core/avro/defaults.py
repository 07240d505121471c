"""Whether a field's JSON default fits its type: Java's rule, plus what no reader can decode.

The base is Java's ``Schema.isValidDefault`` (Avro 1.12): the JSON kind must match the type,
ints and longs must be in range, and a union's default may be a value of *any* branch (as
Java 1.12 and fastavro accept). On top of it, both tools refuse defaults Java lets through
but that no reader can decode as meant: an enum default that is not a symbol, a fixed
default of the wrong length, a bytes or fixed default with a code point above 255 (defaults
are ISO-8859-1 strings), a uuid default that is not a UUID, a decimal default with more
digits than its precision, a time of day outside the day.
"""

import uuid
from typing import Any

from playball_core.avro.schema import (
    ArrayType,
    AvroType,
    EnumType,
    FixedType,
    Kind,
    MapType,
    RecordType,
    UnionType,
)

_INT_RANGE = range(-(2**31), 2**31)
_LONG_RANGE = range(-(2**63), 2**63)
_DAY = {"time-millis": 86_400_000, "time-micros": 86_400_000_000}
# A record default nests other defaults; a recursive record could nest them forever.
MAX_DEFAULT_DEPTH = 100


def default_problem(schema: AvroType, value: Any, depth: int = 0) -> str | None:  # noqa: PLR0911
    """Why ``value`` is not a valid default for ``schema`` (a sentence), or None."""
    if depth > MAX_DEFAULT_DEPTH:
        return f"its default values nest deeper than {MAX_DEFAULT_DEPTH} levels"
    match schema:
        case UnionType(branches=branches):
            if any(default_problem(branch, value, depth + 1) is None for branch in branches):
                return None
            kinds = ", ".join(branch.describe() for branch in branches)
            return f"{value!r} matches no branch of the union [{kinds}]"
        case RecordType():
            return _record_problem(schema, value, depth)
        case ArrayType(items=items):
            if not isinstance(value, list):
                return _not_a(schema, value)
            return _first(default_problem(items, item, depth + 1) for item in value)
        case MapType(values=values):
            if not isinstance(value, dict):
                return _not_a(schema, value)
            return _first(default_problem(values, item, depth + 1) for item in value.values())
        case EnumType(symbols=symbols):
            if value not in symbols:
                return f"{value!r} is not a symbol of {schema.describe()}"
            return None
        case FixedType(size=size):
            problem = _bytes_problem(schema, value)
            if problem is None and len(value) != size:
                return f"{value!r} is not a {schema.describe()} of {size} bytes"
            return problem or _logical_problem(schema, value)
    problem = _primitive_problem(schema, value)
    return problem or _logical_problem(schema, value)


def _first(problems: Any) -> str | None:
    return next((problem for problem in problems if problem is not None), None)


def _not_a(schema: AvroType, value: Any) -> str:
    described = schema.describe()
    article = "an" if described[0] in "aeiou" else "a"
    return f"{value!r} is not {article} {described}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _record_problem(record: RecordType, value: Any, depth: int) -> str | None:
    if not isinstance(value, dict):
        return _not_a(record, value)
    for field in record.fields:
        if field.name in value:
            problem = default_problem(field.type, value[field.name], depth + 1)
        elif field.has_default:
            problem = default_problem(field.type, field.default, depth + 1)
        else:
            problem = f"no value for field {field.name!r}, which has no default"
        if problem is not None:
            return f"{value!r} is not a {record.describe()} ({problem})"
    return None


def _bytes_problem(schema: AvroType, value: Any) -> str | None:
    if not isinstance(value, str):
        return _not_a(schema, value)
    if any(ord(char) > 255 for char in value):  # defaults are ISO-8859-1 text
        return f"{value!r} has a code point above 255 (a bytes default is ISO-8859-1 text)"
    return None


def _primitive_problem(schema: AvroType, value: Any) -> str | None:  # noqa: PLR0911
    kind = schema.kind
    if kind is Kind.NULL:
        return None if value is None else _not_a(schema, value)
    if kind is Kind.BOOLEAN:
        return None if isinstance(value, bool) else _not_a(schema, value)
    if kind is Kind.INT:
        return None if _is_int(value) and value in _INT_RANGE else _not_a(schema, value)
    if kind is Kind.LONG:
        return None if _is_int(value) and value in _LONG_RANGE else _not_a(schema, value)
    if kind in (Kind.FLOAT, Kind.DOUBLE):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return None if number else _not_a(schema, value)
    if kind is Kind.BYTES:
        return _bytes_problem(schema, value)
    return None if isinstance(value, str) else _not_a(schema, value)  # string


def _logical_problem(schema: AvroType, value: Any) -> str | None:
    """Values of valid logical types that mean nothing (the parser dropped invalid types)."""
    logical = schema.logical_type
    if logical == "uuid" and schema.kind is Kind.STRING:
        try:
            uuid.UUID(value)
        except ValueError:
            return f"{value!r} is not a UUID"
    if logical in _DAY and not 0 <= value < _DAY[logical]:
        return f"{value!r} is not a time of day in {logical[5:]}"
    if logical == "decimal":
        precision = schema.props["precision"]
        unscaled = abs(int.from_bytes(value.encode("latin-1"), "big", signed=True))
        if len(str(unscaled)) > precision:
            return f"{value!r} has more than {precision} digits (decimal precision {precision})"
    return None
