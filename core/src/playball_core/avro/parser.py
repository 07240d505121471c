"""``.avsc`` text -> :class:`SchemaDocument`, following Java's ``Schema.Parser`` (Avro 1.12).

The one schema parser of the project: the gate compares its graphs and codegen converts
them, so both accept, name and refuse the same schemas with the same message.

The registries parse with Java before they compare, so a schema Java rejects never gets a
verdict there; we reject the same things here, with the source and ``line:col``: invalid
names (Java's default validator: Unicode letters pass, with a warning since the
specification allows ASCII only), record aliases that are not valid names (Java refuses
them although specification 1.12 allows any string), redefined or undefined names, nested
or duplicate union branches, duplicate fields or symbols, an enum default outside its
symbols, and field defaults that do not fit their type (:mod:`playball_core.avro.defaults`:
Java's rule, where a union default may be of any branch, plus defaults no reader can decode).

An empty union (``[]``) is a schema, as in Java: no value can be written with it, but a
reader reads all (none) of its data. Beyond Java, and for both tools, nesting is bounded
(:data:`MAX_SCHEMA_DEPTH`, and the JSON reader's own limit) so hostile input ends in this
module's error, never in a ``RecursionError``.

An invalid logical type (a decimal whose scale exceeds its precision, a string scale, a
precision its fixed cannot hold, a known logical type on the wrong primitive) is ignored
with a warning and the underlying type used, as the specification and Java do.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

from playball_core.avro.defaults import default_problem
from playball_core.avro.jsonpos import (
    JsonSyntaxError,
    JsonTooDeepError,
    Pointer,
    PositionedJson,
    parse_json,
)
from playball_core.avro.names import (
    SPEC_ASCII_WARNING,
    declared_namespace,
    full_name,
    full_name_problem,
    is_ascii_name,
    name_problem,
    namespace_of,
    reference_candidates,
)
from playball_core.avro.schema import (
    PRIMITIVE_KINDS,
    ArrayType,
    AvroType,
    EnumType,
    Field,
    FixedType,
    Kind,
    MapType,
    NamedType,
    PrimitiveType,
    RecordType,
    SchemaDocument,
    SchemaWarning,
    SourceRef,
    UnionType,
)
from playball_core.avro.tags import field_tags, malformed_tag_keys

_PRIMITIVE_NAMES = {kind.value: kind for kind in PRIMITIVE_KINDS}
_INT_RANGE = range(-(2**31), 2**31)
_LONG_RANGE = range(-(2**63), 2**63)
_SORT_ORDERS = {"ascending", "descending", "ignore"}

# Type nesting (arrays, maps, unions, record fields) a schema may have. Real schemas stay
# under 20; the bound keeps every recursive walk (parsing, defaults, comparison, codegen)
# far inside Python's recursion limit.
MAX_SCHEMA_DEPTH = 100

# Logical types Java 1.12 knows -> the kinds it accepts under them.
_LOGICAL_KINDS: dict[str, frozenset[Kind]] = {
    "decimal": frozenset({Kind.BYTES, Kind.FIXED}),
    "big-decimal": frozenset({Kind.BYTES}),
    "uuid": frozenset({Kind.STRING, Kind.FIXED}),
    "date": frozenset({Kind.INT}),
    "time-millis": frozenset({Kind.INT}),
    "time-micros": frozenset({Kind.LONG}),
    "timestamp-millis": frozenset({Kind.LONG}),
    "timestamp-micros": frozenset({Kind.LONG}),
    "timestamp-nanos": frozenset({Kind.LONG}),
    "local-timestamp-millis": frozenset({Kind.LONG}),
    "local-timestamp-micros": frozenset({Kind.LONG}),
    "local-timestamp-nanos": frozenset({Kind.LONG}),
    "duration": frozenset({Kind.FIXED}),
}
_FIXED_SIZES = {"uuid": 16, "duration": 12}


class SchemaParseError(ValueError):
    """The text is not a valid Avro schema; the message starts with ``label:line:col``."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class UndefinedNameError(SchemaParseError):
    """A reference to a name no schema parsed so far defines (maybe a later file does)."""


def parse_schema(
    text: str, source: SourceRef, known: Mapping[str, NamedType] | None = None
) -> SchemaDocument:
    """Parse one schema text; raise :class:`SchemaParseError` naming source and position.

    ``known`` holds named types defined by schemas parsed before (Java's ``ParseContext``);
    it is not modified.
    """
    try:
        positioned = parse_json(text)
    except JsonTooDeepError as exc:
        raise SchemaParseError(f"{source.label}:{exc.position}", exc.reason) from exc
    except JsonSyntaxError as exc:
        raise SchemaParseError(
            f"{source.label}:{exc.position}", f"invalid JSON: {exc.reason}"
        ) from exc
    parser = _Parser(positioned, source, known or {})
    root = parser.parse(positioned.value, (), "", 0)
    return SchemaDocument(
        root=root,
        source=source,
        json=positioned,
        text=text,
        warnings=tuple(parser.warnings),
        defined=tuple(parser.defined),
    )


def parse_schemas(texts: Sequence[tuple[str, SourceRef]]) -> list[SchemaDocument]:
    """Parse texts that may use each other's named types, in any order.

    Each text is parsed against the names of the texts parsed before it; one that refers
    to a name not defined yet is retried after the others. When no text makes progress,
    the first remaining one's error is raised. Results come in the order given.
    """
    known: dict[str, NamedType] = {}
    parsed: dict[int, SchemaDocument] = {}
    pending = list(range(len(texts)))
    while pending:
        waiting: list[int] = []
        first_error: UndefinedNameError | None = None
        for index in pending:
            text, source = texts[index]
            try:
                document = parse_schema(text, source, known)
            except UndefinedNameError as exc:
                waiting.append(index)
                first_error = first_error or exc
                continue
            parsed[index] = document
            known.update((named.full_name, named) for named in document.defined)
        if len(waiting) == len(pending):
            assert first_error is not None
            raise first_error
        pending = waiting
    return [parsed[index] for index in range(len(texts))]


def decimal_problem(  # noqa: PLR0911 - one return per rule
    node: Mapping[str, Any], kind: Kind, fixed_size: int | None
) -> str | None:
    """Why a decimal's parameters are invalid (Java's ``LogicalTypes.Decimal``), or None."""
    if "precision" not in node:
        return "it has no precision"
    precision, scale = node["precision"], node.get("scale", 0)
    for key, value in (("precision", precision), ("scale", scale)):
        if not _is_int(value) or value not in _INT_RANGE:
            return f"its {key} {value!r} is not an integer"
    if precision <= 0:
        return f"its precision {precision} is not positive"
    if kind is Kind.FIXED and fixed_size is not None:
        limit = max_decimal_precision(fixed_size)
        if precision > limit:
            return f"a fixed of {fixed_size} bytes holds {limit} digits, not {precision}"
    if scale < 0:
        return f"its scale {scale} is negative"
    if scale > precision:
        return f"its scale {scale} is greater than its precision {precision}"
    return None


def max_decimal_precision(size: int) -> int:
    """Digits a two's-complement fixed of ``size`` bytes can always hold (Java's formula)."""
    return math.floor(math.log10(2) * (8 * size - 1)) if size > 0 else 0


def logical_problem(node: Mapping[str, Any], kind: Kind, fixed_size: int | None) -> str | None:
    """Why a node's ``logicalType`` is invalid, so ignored (Java's rules), or None."""
    logical = node["logicalType"]
    if logical not in _LOGICAL_KINDS:
        return None  # unknown logical types are kept as plain annotations
    if kind not in _LOGICAL_KINDS[logical]:
        return f"it cannot annotate a {kind.value}"
    expected = _FIXED_SIZES.get(logical)
    if kind is Kind.FIXED and expected is not None and fixed_size != expected:
        return f"it needs a fixed of {expected} bytes, not {fixed_size}"
    if logical == "decimal":
        return decimal_problem(node, kind, fixed_size)
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Parser:
    def __init__(
        self, positioned: PositionedJson, source: SourceRef, known: Mapping[str, NamedType]
    ) -> None:
        self.json = positioned
        self.source = source
        self.known = known
        self.names: dict[str, NamedType] = {}
        self.defined: list[NamedType] = []
        self.warnings: list[SchemaWarning] = []

    def where(self, pointer: Pointer) -> str:
        position = self.json.position_of(pointer)
        return f"{self.source.label}:{position}" if position else self.source.label

    def error(self, pointer: Pointer, message: str) -> SchemaParseError:
        return SchemaParseError(self.where(pointer), message)

    def warn(self, pointer: Pointer, message: str) -> None:
        self.warnings.append(SchemaWarning(pointer, message))

    # -- names -------------------------------------------------------------------------

    def check_name(self, name: str, pointer: Pointer, what: str) -> None:
        problem = full_name_problem(name)
        if problem is not None:
            raise self.error(pointer, f"invalid {what} {name!r}: {problem}")
        if not is_ascii_name(name):
            self.warn(pointer, f"{what} {name!r}: {SPEC_ASCII_WARNING}")

    def lookup(self, name: str) -> NamedType | None:
        found = self.names.get(name)
        return found if found is not None else self.known.get(name)

    def resolve(self, name: str, namespace: str, pointer: Pointer) -> NamedType:
        for candidate in reference_candidates(name, namespace):
            found = self.lookup(candidate)
            if found is not None:
                return found
        raise UndefinedNameError(self.where(pointer), f"undefined name {name!r}")

    # -- types -------------------------------------------------------------------------

    def parse(self, node: Any, pointer: Pointer, namespace: str, depth: int) -> AvroType:
        if depth > MAX_SCHEMA_DEPTH:
            raise self.error(pointer, f"types nested deeper than {MAX_SCHEMA_DEPTH} levels")
        if isinstance(node, str):
            if node in _PRIMITIVE_NAMES:
                return PrimitiveType(kind=_PRIMITIVE_NAMES[node], pointer=pointer)
            return self.resolve(node, namespace, pointer)
        if isinstance(node, list):
            return self.union(node, pointer, namespace, depth)
        if isinstance(node, dict):
            return self.complex(node, pointer, namespace, depth)
        raise self.error(pointer, f"not a schema: {node!r}")

    def union(self, node: list[Any], pointer: Pointer, namespace: str, depth: int) -> UnionType:
        branches: list[AvroType] = []
        seen: set[str] = set()
        for index, item in enumerate(node):
            branch = self.parse(item, (*pointer, index), namespace, depth + 1)
            if isinstance(branch, UnionType):
                raise self.error((*pointer, index), "a union may not contain a union")
            key = branch.full_name if isinstance(branch, NamedType) else branch.kind.value
            if key in seen:
                raise self.error((*pointer, index), f"duplicate {key!r} in union")
            seen.add(key)
            branches.append(branch)
        return UnionType(kind=Kind.UNION, pointer=pointer, branches=tuple(branches))

    def logical(
        self, node: dict[str, Any], pointer: Pointer, kind: Kind, fixed_size: int | None = None
    ) -> dict[str, Any]:
        """``logical_type`` and ``props`` of a node; an invalid logical type is dropped."""
        logical = node.get("logicalType")
        props = {key: node[key] for key in ("precision", "scale") if key in node}
        if not isinstance(logical, str):
            return {"logical_type": None, "props": props}
        problem = logical_problem(node, kind, fixed_size)
        if problem is None:
            return {"logical_type": logical, "props": props}
        self.warn(
            (*pointer, "logicalType"),
            f"logicalType {logical!r} ignored ({problem}); the underlying {kind.value} is "
            "used, as the Avro specification and Java do",
        )
        return {"logical_type": None, "props": {}}

    def complex(
        self, node: dict[str, Any], pointer: Pointer, namespace: str, depth: int
    ) -> AvroType:
        type_name = node.get("type")
        if not isinstance(type_name, str):
            raise self.error(pointer, "'type' must be a string naming the type")
        if type_name in _PRIMITIVE_NAMES:
            kind = _PRIMITIVE_NAMES[type_name]
            return PrimitiveType(kind=kind, pointer=pointer, **self.logical(node, pointer, kind))
        if type_name in ("record", "error", "enum", "fixed"):
            return self.named(node, type_name, pointer, namespace, depth)
        if type_name == "array":
            if "items" not in node:
                raise self.error(pointer, "array has no 'items'")
            items = self.parse(node["items"], (*pointer, "items"), namespace, depth + 1)
            logical = self.logical(node, pointer, Kind.ARRAY)
            return ArrayType(kind=Kind.ARRAY, pointer=pointer, items=items, **logical)
        if type_name == "map":
            if "values" not in node:
                raise self.error(pointer, "map has no 'values'")
            values = self.parse(node["values"], (*pointer, "values"), namespace, depth + 1)
            logical = self.logical(node, pointer, Kind.MAP)
            return MapType(kind=Kind.MAP, pointer=pointer, values=values, **logical)
        return self.resolve(type_name, namespace, (*pointer, "type"))

    def named(
        self, node: dict[str, Any], type_name: str, pointer: Pointer, namespace: str, depth: int
    ) -> NamedType:
        name = node.get("name")
        if not isinstance(name, str):
            raise self.error(pointer, f"{type_name} has no 'name'")
        own_namespace = "" if "." in name else declared_namespace(node.get("namespace"), namespace)
        if own_namespace is None:
            raise self.error((*pointer, "namespace"), "'namespace' must be a string")
        full = full_name(name, own_namespace)
        self.check_name(full, (*pointer, "name"), "name")
        if full in _PRIMITIVE_NAMES:
            raise self.error((*pointer, "name"), f"a named type may not be called {full!r}")
        previous = self.lookup(full)
        if previous is not None:
            elsewhere = previous.defined_in and previous.defined_in != self.source.label
            also = f" (first in {previous.defined_in})" if elsewhere else ""
            raise self.error((*pointer, "name"), f"{full!r} is defined twice{also}")
        space = namespace_of(full)
        aliases = frozenset(full_name(alias, space) for alias in self.aliases(node, pointer))
        doc = node.get("doc")
        common: dict[str, Any] = {
            "pointer": pointer,
            "full_name": full,
            "aliases": aliases,
            "doc": doc if isinstance(doc, str) else None,
            "defined_in": self.source.label,
        }
        result: NamedType
        if type_name == "enum":
            result = self.enum(node, common)
        elif type_name == "fixed":
            size = node.get("size")
            if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < 2**31:
                raise self.error((*pointer, "size"), "fixed needs a non-negative integer 'size'")
            logical = self.logical(node, pointer, Kind.FIXED, size)
            result = FixedType(kind=Kind.FIXED, size=size, **common, **logical)
        else:
            result = RecordType(
                kind=Kind.RECORD, **common, **self.logical(node, pointer, Kind.RECORD)
            )
        # Registered before the fields are parsed, so a record may refer to itself.
        self.names[full] = result
        self.defined.append(result)
        if isinstance(result, RecordType):
            result.fields = self.fields(node, pointer, space, full, depth)
        return result

    def aliases(self, node: dict[str, Any], pointer: Pointer) -> list[str]:
        aliases = node.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise self.error((*pointer, "aliases"), "'aliases' must be a list of strings")
        for index, alias in enumerate(aliases):
            problem = full_name_problem(alias)
            if problem is not None:
                raise self.error(
                    (*pointer, "aliases", index),
                    f"invalid alias {alias!r}: {problem} (Java Avro refuses an alias that is "
                    "not a valid name, although the specification allows any string)",
                )
            if not is_ascii_name(alias):
                self.warn((*pointer, "aliases", index), f"alias {alias!r}: {SPEC_ASCII_WARNING}")
        return aliases

    def enum(self, node: dict[str, Any], common: dict[str, Any]) -> EnumType:
        pointer: Pointer = common["pointer"]
        symbols = node.get("symbols")
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            raise self.error(pointer, "enum needs 'symbols', a list of strings")
        seen: set[str] = set()
        for index, symbol in enumerate(symbols):
            at: Pointer = (*pointer, "symbols", index)
            problem = name_problem(symbol)
            if problem is not None:
                raise self.error(at, f"invalid symbol {symbol!r}: {problem}")
            if not is_ascii_name(symbol):
                self.warn(at, f"symbol {symbol!r}: {SPEC_ASCII_WARNING}")
            if symbol in seen:
                raise self.error(at, f"duplicate symbol {symbol!r}")
            seen.add(symbol)
        default = node.get("default")
        if default is not None and (not isinstance(default, str) or default not in seen):
            raise self.error((*pointer, "default"), f"enum default {default!r} is not a symbol")
        logical = self.logical(node, pointer, Kind.ENUM)
        return EnumType(
            kind=Kind.ENUM, symbols=tuple(symbols), default=default, **common, **logical
        )

    def fields(
        self, node: dict[str, Any], pointer: Pointer, namespace: str, record: str, depth: int
    ) -> list[Field]:
        raw_fields = node.get("fields")
        if not isinstance(raw_fields, list):
            raise self.error(pointer, f"record {record!r} needs 'fields', a list")
        fields: list[Field] = []
        seen: set[str] = set()
        for index, raw in enumerate(raw_fields):
            at: Pointer = (*pointer, "fields", index)
            fields.append(self.field(raw, at, index, namespace, record, depth, seen))
            seen.add(fields[-1].name)
        return fields

    def field(  # noqa: PLR0917 - the parse position and the record's state
        self,
        raw: Any,
        at: Pointer,
        index: int,
        namespace: str,
        record: str,
        depth: int,
        seen: set[str],
    ) -> Field:
        if not isinstance(raw, dict):
            raise self.error(at, "a field must be an object")
        name = raw.get("name")
        if not isinstance(name, str):
            raise self.error(at, f"invalid field name {name!r}")
        problem = name_problem(name)
        if problem is not None:
            raise self.error((*at, "name"), f"invalid field name {name!r}: {problem}")
        if not is_ascii_name(name):
            self.warn((*at, "name"), f"field name {name!r}: {SPEC_ASCII_WARNING}")
        if name in seen:
            raise self.error((*at, "name"), f"duplicate field {name!r} in {record!r}")
        if "type" not in raw:
            raise self.error(at, f"field {name!r} has no 'type'")
        field_type = self.parse(raw["type"], (*at, "type"), namespace, depth + 1)
        if "order" in raw and raw["order"] not in _SORT_ORDERS:
            raise self.error((*at, "order"), f"invalid order {raw['order']!r}")
        # Field aliases are any strings in Java too (it only checks they are strings).
        aliases = raw.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise self.error((*at, "aliases"), "'aliases' must be a list of strings")
        has_default = "default" in raw
        problem = default_problem(field_type, raw["default"]) if has_default else None
        if problem is not None:
            raise self.error((*at, "default"), f"invalid default for field {name!r}: {problem}")
        doc = raw.get("doc")
        for key in malformed_tag_keys(raw):
            # Java keeps any attribute; a tag list we cannot read is ignored, not refused.
            self.warn((*at, key), f"field {name!r}: {key!r} is not a list of strings; ignored")
        return Field(
            name=name,
            type=field_type,
            pos=index,
            pointer=at,
            aliases=tuple(aliases),
            doc=doc if isinstance(doc, str) else None,
            has_default=has_default,
            default=raw.get("default"),
            tags=field_tags(raw),
        )
