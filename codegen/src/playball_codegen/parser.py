"""A directory of schemas -> the generator's :class:`SchemaSet`, through the shared parser.

Parsing, naming and validation are :mod:`playball_core.avro.parser`'s, the parser the gate
uses, so both tools accept, name and refuse the same schemas with the same message. This
module only converts the parsed graph into the generator's model, then checks what only
generation needs: that every default can become a Python value.
"""

from playball_core.avro.parser import SchemaParseError, parse_schemas
from playball_core.avro.schema import (
    ArrayType,
    EnumType,
    FixedType,
    MapType,
    NamedType,
    PrimitiveType,
    RecordType,
    SchemaDocument,
    SourceRef,
    UnionType,
)
from playball_core.avro.schema import (
    AvroType as CoreType,
)

from playball_codegen.defaults import DefaultError, check_default
from playball_codegen.errors import SchemaError
from playball_codegen.loader import SourceFile
from playball_codegen.logical import LOGICAL_BASES
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


def parse_sources(sources: list[SourceFile]) -> SchemaSet:
    texts = [(source.text, SourceRef(label=str(source.path))) for source in sources]
    try:
        documents = parse_schemas(texts)
    except SchemaParseError as exc:
        raise SchemaError(exc.where, exc.reason) from exc
    schema_set = SchemaSet(sources=tuple(sources))
    for source, document in zip(sources, documents, strict=True):
        schema_set.warnings.extend(document.warning_messages())
        for named in document.defined:
            schema_set.named[named.full_name] = _definition(named, source, document)
    for parsed in schema_set.named.values():
        if isinstance(parsed, RecordDef):
            _check_defaults(parsed, schema_set)
    return schema_set


def convert(avro_type: CoreType) -> AvroType:
    """The generator's view of a parsed type; named types become references."""
    match avro_type:
        case NamedType(full_name=full):
            return NamedRef(full)
        case ArrayType(items=items):
            return Array(convert(items))
        case MapType(values=values):
            return Map(convert(values))
        case UnionType(branches=branches):
            return Union(tuple(convert(branch) for branch in branches))
        case PrimitiveType():
            return _primitive(avro_type)
    raise AssertionError(avro_type)  # pragma: no cover - the parser makes no other kind


def _primitive(avro_type: PrimitiveType) -> AvroType:
    base = avro_type.kind.value
    logical = avro_type.logical_type
    # The parser has dropped invalid logical types; the ones we map carry Python types.
    if logical is None or LOGICAL_BASES.get(logical) != base:
        return Primitive(base)
    if logical == "decimal":
        return _decimal(avro_type, base)
    return Logical(logical, base)


def _decimal(avro_type: CoreType, base: str) -> Logical:
    precision = avro_type.props["precision"]
    scale = avro_type.props.get("scale", 0)
    return Logical("decimal", base, precision, scale)


def _definition(named: NamedType, source: SourceFile, document: SchemaDocument) -> NamedDef:
    origin = Origin(source, document.where(named.pointer))
    node = document.value_at(named.pointer)
    namespace = named.namespace
    if isinstance(named, EnumType):
        return EnumDef(
            named.full_name, namespace, named.doc, named.symbols, named.default, origin, node
        )
    if isinstance(named, FixedType):
        decimal = _decimal(named, "fixed") if named.logical_type == "decimal" else None
        return FixedDef(named.full_name, namespace, named.size, decimal, origin, node)
    assert isinstance(named, RecordType)
    fields = tuple(
        Field(
            field.name,
            convert(field.type),
            field.doc,
            field.has_default,
            field.default,
            document.where((*field.pointer, "default") if field.has_default else field.pointer),
        )
        for field in named.fields
    )
    return RecordDef(named.full_name, namespace, named.doc, fields, origin, node)


def _check_defaults(record: RecordDef, schema_set: SchemaSet) -> None:
    """Defaults Java accepts but that cannot become a Python value (a 3-byte fixed of 4)."""
    for field in record.fields:
        if not field.has_default:
            continue
        try:
            check_default(field.type, field.default, schema_set)
        except DefaultError as exc:
            reason = f"invalid default for field {field.name!r}: {exc}"
            raise SchemaError(field.where, reason) from exc
