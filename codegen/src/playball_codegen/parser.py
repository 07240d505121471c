"""Turns the JSON of a directory of schemas into a resolved :class:`SchemaSet`.

Two passes: the first collects every named type of every file (so a file may use a
type another file defines, in any order), the second resolves references and checks
each definition. The first problem found stops parsing with a :class:`SchemaError`.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from playball_codegen.defaults import DefaultError, check_default
from playball_codegen.errors import NameClashError, SchemaError
from playball_codegen.loader import SourceFile
from playball_codegen.logical import LogicalTypeError, decimal_type, logical_type
from playball_codegen.model import (
    Array,
    AvroType,
    EnumDef,
    Field,
    FixedDef,
    Logical,
    Map,
    NamedDef,
    NamedRef,
    Origin,
    Primitive,
    RecordDef,
    SchemaSet,
    Union,
)
from playball_codegen.names import (
    full_name,
    is_primitive,
    is_valid_full_name,
    is_valid_name,
    namespace_of,
    reference_candidates,
)

NAMED_KINDS = ("record", "error", "enum", "fixed")
FIELD_ORDERS = ("ascending", "descending", "ignore")


@dataclass(frozen=True, slots=True)
class _RawDef:
    full_name: str
    kind: str
    node: dict[str, Any]
    origin: Origin


def parse_sources(sources: list[SourceFile]) -> SchemaSet:
    raw: dict[str, _RawDef] = {}
    for source in sources:
        for definition in _collect(source, source.document, "$", ""):
            if definition.full_name in raw:
                first = raw[definition.full_name].origin
                reason = (
                    f"name clash: {definition.full_name!r} is already defined in "
                    f"{first.source.name} at {first.json_path}"
                )
                raise NameClashError(source.path, definition.origin.json_path, reason)
            raw[definition.full_name] = definition
    parser = _Parser(raw)
    for source in sources:
        parser.parse_type(source, source.document, "$", "")
    schema_set = SchemaSet(sources=tuple(sources))
    for name, found in raw.items():
        schema_set.named[name] = parser.parse_definition(found)
    for parsed in schema_set.named.values():
        if isinstance(parsed, RecordDef):
            _check_defaults(parsed, schema_set)
    return schema_set


def _fail(source: SourceFile, path: str, reason: str) -> SchemaError:
    return SchemaError(source.path, path, reason)


def _collect(  # noqa: PLR0912 - one branch per kind of type position
    source: SourceFile, node: Any, path: str, namespace: str
) -> Iterator[_RawDef]:
    """Named definitions in a type position, depth first, in document order."""
    if isinstance(node, list):
        for index, branch in enumerate(node):
            yield from _collect(source, branch, f"{path}[{index}]", namespace)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if isinstance(kind, dict | list):
        yield from _collect(source, kind, f"{path}.type", namespace)
        return
    if kind in NAMED_KINDS:
        name = node.get("name")
        if not isinstance(name, str) or not is_valid_full_name(name):
            raise _fail(source, f"{path}.name", f"invalid or missing {kind} name: {name!r}")
        own_namespace = node.get("namespace", namespace)
        if own_namespace is None:
            own_namespace = ""
        if not isinstance(own_namespace, str) or (
            own_namespace and not is_valid_full_name(own_namespace)
        ):
            raise _fail(source, f"{path}.namespace", f"invalid namespace: {own_namespace!r}")
        full = full_name(name, own_namespace)
        if is_primitive(full.rpartition(".")[2]) and "." not in full:
            raise _fail(source, f"{path}.name", f"{full!r} is a primitive type name")
        yield _RawDef(full, kind, node, Origin(source, path))
        if kind in ("record", "error"):
            fields = node.get("fields")
            if isinstance(fields, list):
                for index, field in enumerate(fields):
                    if isinstance(field, dict):
                        field_path = f"{path}.fields[{index}].type"
                        yield from _collect(
                            source, field.get("type"), field_path, namespace_of(full)
                        )
    elif kind == "array":
        yield from _collect(source, node.get("items"), f"{path}.items", namespace)
    elif kind == "map":
        yield from _collect(source, node.get("values"), f"{path}.values", namespace)


class _Parser:
    def __init__(self, raw: dict[str, _RawDef]) -> None:
        self._raw = raw

    def resolve(self, source: SourceFile, ref: str, path: str, namespace: str) -> NamedRef:
        for candidate in reference_candidates(ref, namespace):
            if candidate in self._raw:
                return NamedRef(candidate)
        raise _fail(source, path, f"unknown type name {ref!r}")

    def parse_type(  # noqa: PLR0911, PLR0912 - one branch per form a type may take
        self, source: SourceFile, node: Any, path: str, namespace: str
    ) -> AvroType:
        if isinstance(node, str):
            if is_primitive(node):
                return Primitive(node)
            return self.resolve(source, node, path, namespace)
        if isinstance(node, list):
            return self._parse_union(source, node, path, namespace)
        if not isinstance(node, dict):
            raise _fail(source, path, f"a type must be a string, list or object, not {node!r}")
        kind = node.get("type")
        if isinstance(kind, dict | list):
            return self.parse_type(source, kind, f"{path}.type", namespace)
        if not isinstance(kind, str):
            raise _fail(source, f"{path}.type", f"missing or invalid 'type': {kind!r}")
        if kind in NAMED_KINDS:
            name = node["name"]
            own_namespace = node.get("namespace", namespace) or ""
            return NamedRef(full_name(name, own_namespace))
        if kind == "array":
            if "items" not in node:
                raise _fail(source, path, "array without 'items'")
            return Array(self.parse_type(source, node["items"], f"{path}.items", namespace))
        if kind == "map":
            if "values" not in node:
                raise _fail(source, path, "map without 'values'")
            return Map(self.parse_type(source, node["values"], f"{path}.values", namespace))
        if is_primitive(kind):
            try:
                logical = logical_type(node, kind)
            except LogicalTypeError as exc:
                raise _fail(source, path, str(exc)) from exc
            return logical if logical is not None else Primitive(kind)
        return self.resolve(source, kind, f"{path}.type", namespace)

    def _parse_union(self, source: SourceFile, node: list[Any], path: str, namespace: str) -> Union:
        branches: list[AvroType] = []
        seen: dict[str, int] = {}
        for index, branch_node in enumerate(node):
            branch_path = f"{path}[{index}]"
            branch = self.parse_type(source, branch_node, branch_path, namespace)
            if isinstance(branch, Union):
                raise _fail(source, branch_path, "a union may not directly contain a union")
            key = self._union_key(branch)
            if key in seen:
                reason = f"union has two branches of type {key!r} (#{seen[key]} and #{index})"
                raise _fail(source, branch_path, reason)
            seen[key] = index
            branches.append(branch)
        if not branches:
            raise _fail(source, path, "empty union")
        return Union(tuple(branches))

    def _union_key(self, branch: AvroType) -> str:
        # Avro allows one branch per unnamed type (a logical type counts as its
        # primitive) and one per named type.
        match branch:
            case Primitive(name):
                return name
            case Logical(base=base):
                return base
            case NamedRef(full):
                return full
            case Array():
                return "array"
            case Map():
                return "map"
        raise AssertionError(branch)  # pragma: no cover - unions were rejected above

    def parse_definition(self, raw: _RawDef) -> NamedDef:
        source, path, node = raw.origin.source, raw.origin.json_path, raw.node
        namespace = namespace_of(raw.full_name)
        doc = node.get("doc")
        if doc is not None and not isinstance(doc, str):
            raise _fail(source, f"{path}.doc", f"doc must be a string, not {doc!r}")
        self._check_aliases(source, node, path)
        if raw.kind == "enum":
            return self._parse_enum(raw, doc)
        if raw.kind == "fixed":
            size = node.get("size")
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise _fail(source, f"{path}.size", f"fixed size must be an integer >= 0: {size!r}")
            decimal: Logical | None = None
            if node.get("logicalType") == "decimal":
                try:
                    decimal = decimal_type(node, "fixed", size)
                except LogicalTypeError as exc:
                    raise _fail(source, path, str(exc)) from exc
            return FixedDef(raw.full_name, namespace, size, decimal, raw.origin, node)
        fields_node = node.get("fields")
        if not isinstance(fields_node, list):
            raise _fail(source, f"{path}.fields", "a record needs a 'fields' list")
        fields: list[Field] = []
        seen: dict[str, int] = {}
        for index, field_node in enumerate(fields_node):
            field_path = f"{path}.fields[{index}]"
            fields.append(self._parse_field(source, field_node, field_path, namespace, seen))
            seen[fields[-1].name] = index
        return RecordDef(raw.full_name, namespace, doc, tuple(fields), raw.origin, node)

    def _parse_field(
        self,
        source: SourceFile,
        node: Any,
        path: str,
        namespace: str,
        seen: dict[str, int],
    ) -> Field:
        if not isinstance(node, dict):
            raise _fail(source, path, "a field must be an object")
        name = node.get("name")
        if not isinstance(name, str) or not is_valid_name(name):
            raise _fail(source, f"{path}.name", f"invalid or missing field name: {name!r}")
        if name in seen:
            reason = f"duplicate field {name!r} (first at fields[{seen[name]}])"
            raise _fail(source, f"{path}.name", reason)
        if "type" not in node:
            raise _fail(source, path, f"field {name!r} has no 'type'")
        doc = node.get("doc")
        if doc is not None and not isinstance(doc, str):
            raise _fail(source, f"{path}.doc", f"doc must be a string, not {doc!r}")
        order = node.get("order", "ascending")
        if order not in FIELD_ORDERS:
            raise _fail(source, f"{path}.order", f"order must be one of {FIELD_ORDERS}: {order!r}")
        self._check_aliases(source, node, path)
        avro_type = self.parse_type(source, node["type"], f"{path}.type", namespace)
        return Field(name, avro_type, doc, "default" in node, node.get("default"), path)

    def _parse_enum(self, raw: _RawDef, doc: str | None) -> EnumDef:
        source, path, node = raw.origin.source, raw.origin.json_path, raw.node
        symbols = node.get("symbols")
        if not isinstance(symbols, list):
            raise _fail(source, f"{path}.symbols", "an enum needs a 'symbols' list")
        for index, symbol in enumerate(symbols):
            symbol_path = f"{path}.symbols[{index}]"
            if not isinstance(symbol, str) or not is_valid_name(symbol):
                raise _fail(source, symbol_path, f"invalid enum symbol: {symbol!r}")
            if symbols.index(symbol) != index:
                raise _fail(source, symbol_path, f"duplicate enum symbol {symbol!r}")
        default = node.get("default")
        if default is not None and default not in symbols:
            raise _fail(source, f"{path}.default", f"enum default {default!r} is not a symbol")
        namespace = namespace_of(raw.full_name)
        return EnumDef(raw.full_name, namespace, doc, tuple(symbols), default, raw.origin, node)

    def _check_aliases(self, source: SourceFile, node: dict[str, Any], path: str) -> None:
        aliases = node.get("aliases", [])
        if not isinstance(aliases, list) or not all(
            isinstance(alias, str) and is_valid_full_name(alias) for alias in aliases
        ):
            raise _fail(source, f"{path}.aliases", f"aliases must be a list of names: {aliases!r}")


def _check_defaults(record: RecordDef, schema_set: SchemaSet) -> None:
    for field in record.fields:
        if not field.has_default:
            continue
        try:
            check_default(field.type, field.default, schema_set)
        except DefaultError as exc:
            reason = f"invalid default for field {field.name!r}: {exc}"
            raise SchemaError(
                record.origin.source.path, f"{field.json_path}.default", reason
            ) from exc
