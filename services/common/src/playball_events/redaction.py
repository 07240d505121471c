"""Keeping personal values (fields tagged ``PII``) out of logs, reasons and error messages.

A generated record class names its personal fields in ``PERSONAL_FIELDS`` (attribute
names, from the schema's ``"confluent:tags": ["PII"]``), and its ``repr`` already shows
them as :data:`REDACTED`. Error texts are another matter: a library's message (fastavro's
"datum does not match", a handler's exception) may quote a value. Where such a text is
built next to the record it concerns, :func:`redact` removes that record's personal
values from it before it is logged, stored as a dead letter's reason, or raised.

Redacting by value is the fallback, not the design: the texts this project writes itself
name fields, types, sizes and offsets, never values.
"""

import dataclasses
import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

REDACTED: Final = "<PII>"
# A value this short identifies nobody, and replacing it would garble the whole text
# ("a" in every word). Two characters stay: a full name can be two (李明).
MIN_REDACTED_LENGTH: Final = 2
_SCALARS = (str, bytes, int, float, decimal.Decimal, uuid.UUID, dt.date, dt.time)


def personal_fields(record: object) -> tuple[str, ...]:
    """The attribute names of ``record``'s class that hold personal data (none if untagged)."""
    names = getattr(type(record), "PERSONAL_FIELDS", ())
    return tuple(names) if isinstance(names, tuple | list | frozenset) else ()


def personal_values(record: object) -> list[str]:
    """Every text a personal value of ``record`` (or of a record nested in it) may show as.

    Strings as they are and as ``repr`` escapes them; bytes as ``repr`` and as UTF-8 text;
    other scalars (a tagged date, a number) as ``str`` and ``repr``. Longest first, so a
    value containing another is replaced whole.
    """
    found: set[str] = set()
    for value in _personal_data(record, 0):
        found.update(_spellings(value))
    usable = (text for text in found if len(text.strip()) >= MIN_REDACTED_LENGTH)
    return sorted(usable, key=lambda text: (-len(text), text))


def redact(text: str, records: Iterable[object]) -> str:
    """``text`` with every personal value of ``records`` replaced by :data:`REDACTED`."""
    values: set[str] = set()
    for record in records:
        values.update(personal_values(record))
    for value in sorted(values, key=lambda v: (-len(v), v)):
        if value in text:
            text = text.replace(value, REDACTED)
    return text


# Records nest a few levels at most; the bound keeps a cyclic list from looping.
_MAX_DEPTH = 32


def _personal_data(record: object, depth: int) -> Iterator[object]:
    """The values of ``record``'s personal fields; then those of nested records."""
    if depth > _MAX_DEPTH or not dataclasses.is_dataclass(record):
        return
    personal = set(personal_fields(record))
    for field in dataclasses.fields(record):
        value = getattr(record, field.name, None)
        if field.name in personal:
            yield from _leaves(value, depth)
        else:
            for nested in _records_in(value, depth):
                yield from _personal_data(nested, depth + 1)


def _leaves(value: object, depth: int) -> Iterator[object]:
    """Every scalar inside a (possibly nested) value."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, _SCALARS) and not isinstance(value, bool):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield key
            yield from _leaves(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _leaves(getattr(value, field.name, None), depth + 1)


def _records_in(value: object, depth: int) -> Iterator[object]:
    if depth > _MAX_DEPTH:
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _records_in(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _records_in(item, depth + 1)


def _spellings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value, repr(value)[1:-1]}
    if isinstance(value, bytes):
        return {repr(value)[2:-1], value.decode("utf-8", "replace"), value.hex()}
    return {str(value), repr(value)}
