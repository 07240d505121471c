"""The self-contained JSON schema of each named type.

For a type defined at the top of a file this is the file's JSON unchanged. Named types
from elsewhere (another file, or outside the definition's subtree) are inlined at
their first use and referenced by name afterwards, as an Avro parser requires, so the
result parses on its own and registers under the same canonical form as the source.

An invalid logical type (which the parser ignored, with a warning) is left out, with its
precision and scale (:func:`playball_core.avro.normalise.without_invalid_logical_type`, the
core's rule): fastavro refuses it where Java ignores it, and the generated class must load.
The canonical form, which has no logical types, is unchanged.
"""

import copy
from typing import Any

from playball_core.avro.names import declared_full_name, namespace_of, reference_candidates
from playball_core.avro.normalise import without_invalid_logical_type
from playball_core.avro.schema import PRIMITIVE_KINDS, NamedType

from playball_codegen.schema_set import SchemaSet

NAMED_KINDS = ("record", "error", "enum", "fixed")
_PRIMITIVE_NAMES = frozenset(kind.value for kind in PRIMITIVE_KINDS)


def is_primitive(name: str) -> bool:
    return name in _PRIMITIVE_NAMES


def standalone_schema(definition: NamedType, schema_set: SchemaSet) -> dict[str, Any]:
    builder = _Builder(schema_set)
    return builder.definition(definition, output_namespace="")


class _Builder:
    def __init__(self, schema_set: SchemaSet) -> None:
        self._set = schema_set
        self._defined: set[str] = set()

    def definition(self, definition: NamedType, output_namespace: str) -> dict[str, Any]:
        """The definition's node, made to resolve to its own full name where it lands."""
        self._defined.add(definition.full_name)
        node = without_invalid_logical_type(self._set.node(definition))
        name = node["name"]
        own_namespace = namespace_of(definition.full_name)
        # A JSON null namespace inherits in Java but means the null namespace to fastavro:
        # spell the inherited one out, which both read alike (same canonical form).
        inherits = node.get("namespace") is None
        if (
            "." not in name
            and inherits
            and ("namespace" in node or own_namespace != output_namespace)
        ):
            node = _with_namespace(node, own_namespace)
        if node["type"] in ("record", "error"):
            fields = []
            for field in node["fields"]:
                copied = dict(field)
                copied["type"] = self.type(field["type"], own_namespace)
                fields.append(copied)
            node["fields"] = fields
        return node

    def type(self, node: Any, namespace: str) -> Any:  # noqa: PLR0911 - one case per form
        if isinstance(node, str):
            return node if is_primitive(node) else self.reference(node, namespace)
        if isinstance(node, list):
            return [self.type(branch, namespace) for branch in node]
        if not isinstance(node, dict):
            return copy.deepcopy(node)
        kind = node.get("type")
        if isinstance(kind, dict | list):
            return {**node, "type": self.type(kind, namespace)}
        if kind in NAMED_KINDS:
            full = declared_full_name(node["name"], node.get("namespace"), namespace)
            assert full is not None  # the parser refused any other namespace
            if full in self._defined:
                return full  # defined earlier in this output: a reference is enough
            return self.definition(self._set.named[full], namespace)
        if kind == "array":
            return {**node, "items": self.type(node["items"], namespace)}
        if kind == "map":
            return {**node, "values": self.type(node["values"], namespace)}
        if isinstance(kind, str) and not is_primitive(kind):
            return self.reference(kind, namespace)
        return without_invalid_logical_type(copy.deepcopy(node))

    def reference(self, ref: str, namespace: str) -> Any:
        full = next(c for c in reference_candidates(ref, namespace) if c in self._set.named)
        if full in self._defined:
            return ref
        return self.definition(self._set.named[full], namespace)


def _with_namespace(node: dict[str, Any], namespace: str) -> dict[str, Any]:
    """Insert ``namespace`` right after ``name``, where people expect to read it."""
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key == "namespace":
            continue
        result[key] = value
        if key == "name":
            result["namespace"] = namespace
    return result
