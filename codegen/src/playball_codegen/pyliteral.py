"""Python source for JSON values and Python default values, formatter-friendly.

Long strings are split at spaces into implicitly concatenated pieces so that no line
of the formatted output is longer than the project's line length.
"""

import datetime as dt
import decimal
import uuid
from typing import Any

STRING_PIECE = 72


def py_str(text: str) -> str:
    literal = repr(text)
    if len(literal) <= STRING_PIECE + 2:
        return literal
    pieces: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if len(candidate) > STRING_PIECE and current:
            pieces.append(current + " ")
            current = word
        else:
            current = candidate
    pieces.append(current)
    return "(" + " ".join(repr(piece) for piece in pieces) + ")"


def json_literal(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, str):
        return py_str(value)
    if isinstance(value, list):
        return "[" + ", ".join(json_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{py_str(k)}: {json_literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    raise TypeError(value)  # pragma: no cover - JSON has no other types


def python_value(value: Any) -> str:  # noqa: PLR0911 - one case per Python type
    """Source for a scalar default already converted to its Python type."""
    match value:
        case bool() | int() | float() | bytes() | None:
            return repr(value)
        case str():
            return py_str(value)
        case uuid.UUID():
            return f"_uuid.UUID({str(value)!r})"
        case decimal.Decimal():
            return f"_decimal.Decimal({str(value)!r})"
        case dt.datetime():
            parts = [value.year, value.month, value.day, value.hour, value.minute, value.second]
            args = ", ".join(str(part) for part in [*parts, value.microsecond])
            zone = ", tzinfo=_dt.UTC" if value.tzinfo is not None else ""
            return f"_dt.datetime({args}{zone})"
        case dt.date():
            return f"_dt.date({value.year}, {value.month}, {value.day})"
        case dt.time():
            args = ", ".join(str(p) for p in (value.hour, value.minute, value.second))
            return f"_dt.time({args}, {value.microsecond})"
    raise TypeError(value)  # pragma: no cover
