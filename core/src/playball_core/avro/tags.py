"""Data-contract tags on fields: which fields hold personal data.

A field is tagged through an attribute named ``<prefix>:tags`` whose value is a list of
strings; ``"confluent:tags": ["PII"]`` is Confluent's data-contract convention, so the
tag means the same in Confluent's own tools. Avro itself ignores such attributes: they
change neither the bytes nor the canonical form, so adding or removing one is compatible
for every reader (which is why the gate needs rules of its own to keep them honest).

- ``PII``: the field's values are personal data; they never reach a log, a ``repr`` or
  an error message, and erasure must remove them.
- ``NOT_PII``: the field was looked at and holds no personal data (a new text field must
  carry one of the two, or the gate warns).

This module reads tags from the parsed model (:class:`~playball_core.avro.schema.Field`)
and from schema JSON (what a generated class's ``avro_schema()`` returns), so every tool
and the runtime agree on what is personal.
"""

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from playball_core.avro.schema import Field, RecordType

PII = "PII"
NOT_PII = "NOT_PII"
TAGS_SUFFIX = ":tags"
# Schema attributes that never change what a payload means: documentation and tags.
# The outbox's fingerprint ignores them (:func:`without_annotations`).
ANNOTATION_KEYS = frozenset({"doc"})


def is_tags_key(key: str) -> bool:
    """Whether an attribute name is a ``<prefix>:tags`` attribute (``confluent:tags``)."""
    return key.endswith(TAGS_SUFFIX) and len(key) > len(TAGS_SUFFIX)


def is_annotation_key(key: str) -> bool:
    """Whether an attribute only annotates a schema (``doc``, ``*:tags``)."""
    return key in ANNOTATION_KEYS or is_tags_key(key)


def malformed_tag_keys(node: Mapping[str, Any]) -> list[str]:
    """The ``*:tags`` attributes of a JSON object whose value is not a list of strings."""
    return [
        key
        for key, value in node.items()
        if is_tags_key(key)
        and not (isinstance(value, list) and all(isinstance(tag, str) for tag in value))
    ]


def field_tags(node: Mapping[str, Any]) -> tuple[str, ...]:
    """The tags of a field's JSON object, from every well-formed ``*:tags`` attribute.

    In attribute order, without duplicates; a malformed attribute (see
    :func:`malformed_tag_keys`) contributes nothing.
    """
    tags: dict[str, None] = {}
    for key, value in node.items():
        if is_tags_key(key) and isinstance(value, list):
            tags.update((tag, None) for tag in value if isinstance(tag, str))
    return tuple(tags)


def is_personal(field: Field) -> bool:
    """Whether a parsed field is tagged ``PII``."""
    return PII in field.tags


def personal_field_names(record: RecordType | Mapping[str, Any]) -> tuple[str, ...]:
    """Names of a record's own fields tagged ``PII``, in field order.

    ``record`` is a parsed :class:`RecordType` or a record schema's JSON (a generated
    class's ``avro_schema()``). Only the record's own fields: a nested record's personal
    fields are its own record's business (its class redacts them itself).
    """
    if isinstance(record, RecordType):
        return tuple(field.name for field in record.fields if is_personal(field))
    return tuple(name for name, tags in _json_fields(record) if PII in tags)


def _json_fields(record: Mapping[str, Any]) -> Iterator[tuple[str, tuple[str, ...]]]:
    for raw in record.get("fields", []):
        if isinstance(raw, Mapping) and isinstance(raw.get("name"), str):
            yield raw["name"], field_tags(raw)


def without_annotations(schema: Any) -> Any:
    """A copy of schema JSON without ``doc`` and ``*:tags`` on its types and fields.

    What is left says everything a payload's bytes and meaning depend on (names,
    namespaces, aliases, defaults, logical types, order), so two schemas that differ only
    in documentation or tags compare equal. Only schema positions are touched: a field's
    ``default`` is data and is copied as it is, even if it holds a key named ``doc``.
    """
    return _without(schema, is_annotation_key)


def without_tags(schema: Any) -> Any:
    """A copy of schema JSON without its ``*:tags`` attributes (``doc`` is kept)."""
    return _without(schema, is_tags_key)


def _without(schema: Any, drop: Callable[[str], bool]) -> Any:
    if isinstance(schema, list):
        return [_without(branch, drop) for branch in schema]
    if not isinstance(schema, Mapping):
        return schema  # a primitive or a reference by name
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if drop(key):
            continue
        if key in {"type", "items", "values"}:
            result[key] = _without(value, drop)
        elif key == "fields" and isinstance(value, list):
            result[key] = [_field_without(field, drop) for field in value]
        else:
            result[key] = copy.deepcopy(value)
    return result


def _field_without(field: Any, drop: Callable[[str], bool]) -> Any:
    if not isinstance(field, Mapping):
        return copy.deepcopy(field)
    return {
        key: _without(value, drop) if key == "type" else copy.deepcopy(value)
        for key, value in field.items()
        if not drop(key)
    }
