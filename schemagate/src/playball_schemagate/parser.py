"""``.avsc`` text -> :class:`SchemaDocument`, following Java's ``Schema.Parser`` (Avro 1.12).

The registries parse with Java before they compare, so a schema Java rejects never gets a
verdict there; we reject the same things here, with the file and ``line:col``:
invalid names, redefined or undefined names, nested or duplicate union branches, duplicate
fields or symbols, an enum default outside its symbols, and field defaults that do not
match the field's type (for a union, any branch may match, as Avro 1.12 accepts).
"""

from typing import Any

from playball_schemagate.errors import GateInputError
from playball_schemagate.jsonpos import JsonSyntaxError, Pointer, PositionedJson, parse_json
from playball_schemagate.model import (
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
    SourceRef,
    UnionType,
)

_PRIMITIVE_NAMES = {kind.value: kind for kind in PRIMITIVE_KINDS}
_INT_RANGE = range(-(2**31), 2**31)
_LONG_RANGE = range(-(2**63), 2**63)
_SORT_ORDERS = {"ascending", "descending", "ignore"}


class SchemaParseError(GateInputError):
    """The text is not a valid Avro schema."""


def parse_schema(text: str, source: SourceRef) -> SchemaDocument:
    """Parse one schema text; raise :class:`SchemaParseError` naming source and position."""
    try:
        positioned = parse_json(text)
    except JsonSyntaxError as exc:
        msg = f"{source.label}:{exc.position}: invalid JSON: {exc.reason}"
        raise SchemaParseError(msg) from exc
    root = _Parser(positioned, source).parse(positioned.value, (), "")
    return SchemaDocument(root=root, source=source, json=positioned, text=text)


def _valid_identifier(name: str) -> bool:
    # Java's default validator: a letter or '_', then letters, digits or '_'.
    if not name or not (name[0].isalpha() or name[0] == "_"):
        return False
    return all(char.isalpha() or char.isdecimal() or char == "_" for char in name[1:])


class _Parser:
    def __init__(self, positioned: PositionedJson, source: SourceRef) -> None:
        self.json = positioned
        self.source = source
        self.names: dict[str, NamedType] = {}

    def error(self, pointer: Pointer, message: str) -> SchemaParseError:
        position = self.json.position_of(pointer)
        where = f"{self.source.label}:{position}" if position else self.source.label
        return SchemaParseError(f"{where}: {message}")

    # -- names -------------------------------------------------------------------------

    def full_name(self, name: str, namespace: str) -> str:
        return name if "." in name or not namespace else f"{namespace}.{name}"

    def check_full_name(self, full_name: str, pointer: Pointer) -> None:
        for part in full_name.split("."):
            if not _valid_identifier(part):
                raise self.error(pointer, f"invalid name {full_name!r}")
        if full_name in _PRIMITIVE_NAMES:
            raise self.error(pointer, f"a named type may not be called {full_name!r}")

    def resolve(self, name: str, namespace: str, pointer: Pointer) -> NamedType:
        # Java looks the name up in the enclosing namespace first, then in the null one.
        for candidate in (self.full_name(name, namespace), name):
            if candidate in self.names:
                return self.names[candidate]
        raise self.error(pointer, f"undefined name {name!r}")

    # -- types -------------------------------------------------------------------------

    def parse(self, node: Any, pointer: Pointer, namespace: str) -> AvroType:
        if isinstance(node, str):
            if node in _PRIMITIVE_NAMES:
                return PrimitiveType(kind=_PRIMITIVE_NAMES[node], pointer=pointer)
            return self.resolve(node, namespace, pointer)
        if isinstance(node, list):
            return self.union(node, pointer, namespace)
        if isinstance(node, dict):
            return self.complex(node, pointer, namespace)
        raise self.error(pointer, f"not a schema: {node!r}")

    def union(self, node: list[Any], pointer: Pointer, namespace: str) -> UnionType:
        branches: list[AvroType] = []
        seen: set[str] = set()
        for index, item in enumerate(node):
            branch = self.parse(item, (*pointer, index), namespace)
            if isinstance(branch, UnionType):
                raise self.error((*pointer, index), "a union may not contain a union")
            key = branch.full_name if isinstance(branch, NamedType) else branch.kind.value
            if key in seen:
                raise self.error((*pointer, index), f"duplicate {key!r} in union")
            seen.add(key)
            branches.append(branch)
        return UnionType(kind=Kind.UNION, pointer=pointer, branches=tuple(branches))

    def complex(self, node: dict[str, Any], pointer: Pointer, namespace: str) -> AvroType:
        type_name = node.get("type")
        if not isinstance(type_name, str):
            raise self.error(pointer, "'type' must be a string naming the type")
        logical = node.get("logicalType")
        logical_type = logical if isinstance(logical, str) else None
        props = {key: node[key] for key in ("precision", "scale") if key in node}
        common: dict[str, Any] = {
            "pointer": pointer,
            "logical_type": logical_type,
            "props": props,
        }
        if type_name in _PRIMITIVE_NAMES:
            return PrimitiveType(kind=_PRIMITIVE_NAMES[type_name], **common)
        if type_name in ("record", "error", "enum", "fixed"):
            return self.named(node, type_name, namespace, common)
        if type_name == "array":
            if "items" not in node:
                raise self.error(pointer, "array has no 'items'")
            items = self.parse(node["items"], (*pointer, "items"), namespace)
            return ArrayType(kind=Kind.ARRAY, items=items, **common)
        if type_name == "map":
            if "values" not in node:
                raise self.error(pointer, "map has no 'values'")
            values = self.parse(node["values"], (*pointer, "values"), namespace)
            return MapType(kind=Kind.MAP, values=values, **common)
        return self.resolve(type_name, namespace, (*pointer, "type"))

    def named(
        self, node: dict[str, Any], type_name: str, namespace: str, common: dict[str, Any]
    ) -> NamedType:
        pointer: Pointer = common["pointer"]
        name = node.get("name")
        if not isinstance(name, str):
            raise self.error(pointer, f"{type_name} has no 'name'")
        # A dotted name carries its namespace; a JSON null namespace inherits, as in Java.
        own_namespace = "" if "." in name else node.get("namespace")
        if own_namespace is None:
            own_namespace = namespace
        if not isinstance(own_namespace, str):
            raise self.error((*pointer, "namespace"), "'namespace' must be a string")
        full_name = self.full_name(name, own_namespace)
        self.check_full_name(full_name, (*pointer, "name"))
        if full_name in self.names:
            raise self.error((*pointer, "name"), f"{full_name!r} is defined twice")
        space = full_name.rpartition(".")[0]
        aliases = frozenset(self.full_name(alias, space) for alias in self.aliases(node, pointer))
        doc = node.get("doc")
        named_common = {
            **common,
            "full_name": full_name,
            "aliases": aliases,
            "doc": doc if isinstance(doc, str) else None,
        }
        result: NamedType
        if type_name == "enum":
            result = self.enum(node, named_common)
        elif type_name == "fixed":
            size = node.get("size")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise self.error((*pointer, "size"), "fixed needs a non-negative integer 'size'")
            result = FixedType(kind=Kind.FIXED, size=size, **named_common)
        else:
            result = RecordType(kind=Kind.RECORD, **named_common)
        # Registered before the fields are parsed, so a record may refer to itself.
        self.names[full_name] = result
        if isinstance(result, RecordType):
            result.fields = self.fields(node, pointer, space, full_name)
        return result

    def aliases(self, node: dict[str, Any], pointer: Pointer) -> list[str]:
        aliases = node.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise self.error((*pointer, "aliases"), "'aliases' must be a list of strings")
        for index, alias in enumerate(aliases):
            for part in alias.split("."):
                if not _valid_identifier(part):
                    raise self.error((*pointer, "aliases", index), f"invalid alias {alias!r}")
        return aliases

    def enum(self, node: dict[str, Any], named_common: dict[str, Any]) -> EnumType:
        pointer: Pointer = named_common["pointer"]
        symbols = node.get("symbols")
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            raise self.error(pointer, "enum needs 'symbols', a list of strings")
        for index, symbol in enumerate(symbols):
            if not _valid_identifier(symbol):
                raise self.error((*pointer, "symbols", index), f"invalid symbol {symbol!r}")
            if symbols.index(symbol) != index:
                raise self.error((*pointer, "symbols", index), f"duplicate symbol {symbol!r}")
        default = node.get("default")
        if default is not None and default not in symbols:
            raise self.error((*pointer, "default"), f"enum default {default!r} is not a symbol")
        return EnumType(kind=Kind.ENUM, symbols=tuple(symbols), default=default, **named_common)

    def fields(
        self, node: dict[str, Any], pointer: Pointer, namespace: str, record: str
    ) -> list[Field]:
        raw_fields = node.get("fields")
        if not isinstance(raw_fields, list):
            raise self.error(pointer, f"record {record!r} needs 'fields', a list")
        fields: list[Field] = []
        for index, raw in enumerate(raw_fields):
            at: Pointer = (*pointer, "fields", index)
            if not isinstance(raw, dict):
                raise self.error(at, "a field must be an object")
            name = raw.get("name")
            if not isinstance(name, str) or not _valid_identifier(name):
                raise self.error(at, f"invalid field name {name!r}")
            if any(existing.name == name for existing in fields):
                raise self.error((*at, "name"), f"duplicate field {name!r} in {record!r}")
            if "type" not in raw:
                raise self.error(at, f"field {name!r} has no 'type'")
            field_type = self.parse(raw["type"], (*at, "type"), namespace)
            if "order" in raw and raw["order"] not in _SORT_ORDERS:
                raise self.error((*at, "order"), f"invalid order {raw['order']!r}")
            aliases = raw.get("aliases", [])
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                raise self.error((*at, "aliases"), "'aliases' must be a list of strings")
            has_default = "default" in raw
            if has_default and not valid_default(field_type, raw["default"]):
                raise self.error(
                    (*at, "default"),
                    f"invalid default for field {name!r}: {raw['default']!r} is not a "
                    f"{field_type.describe()}",
                )
            doc = raw.get("doc")
            fields.append(
                Field(
                    name=name,
                    type=field_type,
                    pos=index,
                    pointer=at,
                    aliases=tuple(aliases),
                    doc=doc if isinstance(doc, str) else None,
                    has_default=has_default,
                    default=raw.get("default"),
                )
            )
        return fields


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def valid_default(schema: AvroType, value: Any) -> bool:  # noqa: PLR0911 - one case per kind
    """Whether a JSON default fits ``schema``, as Java's ``Schema.isValidDefault`` decides."""
    match schema:
        case UnionType(branches=branches):
            return any(valid_default(branch, value) for branch in branches)
        case ArrayType(items=items):
            return isinstance(value, list) and all(valid_default(items, v) for v in value)
        case MapType(values=values):
            return isinstance(value, dict) and all(valid_default(values, v) for v in value.values())
        case RecordType(fields=fields):
            return isinstance(value, dict) and all(
                valid_default(f.type, value[f.name])
                if f.name in value
                else f.has_default and valid_default(f.type, f.default)
                for f in fields
            )
        case EnumType() | FixedType():
            return isinstance(value, str)
    kind = schema.kind
    if kind is Kind.NULL:
        return value is None
    if kind is Kind.BOOLEAN:
        return isinstance(value, bool)
    if kind is Kind.INT:
        return _is_int(value) and value in _INT_RANGE
    if kind is Kind.LONG:
        return _is_int(value) and value in _LONG_RANGE
    if kind in (Kind.FLOAT, Kind.DOUBLE):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)  # string, bytes
