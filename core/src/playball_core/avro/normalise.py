"""A schema without the logical types Java ignores, for readers that refuse them instead.

Java Avro (and so the registries) parses a schema with an invalid logical type (a decimal
whose scale exceeds its precision, a string scale, a precision its fixed cannot hold, a
known logical type on the wrong primitive) and uses the underlying type. fastavro refuses
such a schema. A Java producer may register one, so a Python consumer removes what Java
ignores before fastavro parses it. The validity rules are the parser's
(:func:`playball_core.avro.parser.logical_problem`); the encoding is unchanged, since a
logical type never changes the bytes.
"""

import copy
from collections.abc import Mapping
from typing import Any

from playball_core.avro.parser import logical_problem
from playball_core.avro.schema import Kind

# The attributes that belong to a logical type, dropped with it.
LOGICAL_ATTRIBUTES = ("logicalType", "precision", "scale")
_KINDS = {kind.value: kind for kind in Kind if kind is not Kind.UNION} | {"error": Kind.RECORD}


def normalise_writer(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``schema`` without every logical type the core finds invalid."""
    copied = copy.deepcopy(dict(schema))
    _strip(copied)
    return copied


def without_invalid_logical_type(node: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy of one type's JSON object, without its logical type if it is invalid.

    Only this node is looked at; nested types are left as they are.
    """
    if not has_invalid_logical_type(node):
        return dict(node)
    return {key: value for key, value in node.items() if key not in LOGICAL_ATTRIBUTES}


def has_invalid_logical_type(node: Mapping[str, Any]) -> bool:
    """Whether the core ignores this type's ``logicalType`` as invalid."""
    logical, type_name = node.get("logicalType"), node.get("type")
    kind = _KINDS.get(type_name) if isinstance(type_name, str) else None
    if not isinstance(logical, str) or kind is None:
        return False
    size = node.get("size") if kind is Kind.FIXED else None
    return logical_problem(node, kind, size if isinstance(size, int) else None) is not None


def _strip(node: Any) -> None:
    if isinstance(node, list):
        for branch in node:
            _strip(branch)
        return
    if not isinstance(node, dict):
        return  # a primitive or a reference by name
    if has_invalid_logical_type(node):
        for key in LOGICAL_ATTRIBUTES:
            node.pop(key, None)
    type_name = node.get("type")
    if isinstance(type_name, dict | list):
        _strip(type_name)
    elif type_name in ("record", "error") and isinstance(node.get("fields"), list):
        for field in node["fields"]:
            if isinstance(field, dict) and "type" in field:
                _strip(field["type"])
    elif type_name == "array" and "items" in node:
        _strip(node["items"])
    elif type_name == "map" and "values" in node:
        _strip(node["values"])
