"""A directory of schemas -> the generator's :class:`SchemaSet`, through the shared parser.

Parsing, naming and validation are :mod:`playball_core.avro.parser`'s, the parser the gate
uses, so both tools accept, name and refuse the same schemas with the same message. This
module then checks what only generation needs: that every field has a Python type, and
that every default can become a Python value.
"""

from playball_core.avro.parser import SchemaParseError, parse_schemas
from playball_core.avro.schema import (
    ArrayType,
    AvroType,
    MapType,
    RecordType,
    SchemaDocument,
    SourceRef,
    UnionType,
)

from playball_codegen.defaults import DefaultError, check_default
from playball_codegen.errors import SchemaError
from playball_codegen.loader import SourceFile
from playball_codegen.schema_set import SchemaSet

EMPTY_UNION = (
    "an empty union has no value, so no Python type: a field of this type cannot be "
    "generated (Java Avro accepts the schema; the gate checks it)"
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
            schema_set.add(named, source, document)
    records = [(r, schema_set.definitions[r.full_name].document) for r in schema_set.records()]
    for record, document in records:
        _check_field_types(record, document)
    for record, document in records:
        _check_defaults(record, document)
    return schema_set


def _empty_union(avro_type: AvroType) -> UnionType | None:
    """An empty union in a field's type (named types are checked where they are defined)."""
    match avro_type:
        case ArrayType(items=inner) | MapType(values=inner):
            return _empty_union(inner)
        case UnionType(branches=()):
            return avro_type
        case UnionType(branches=branches):
            return next(filter(None, (_empty_union(branch) for branch in branches)), None)
    return None


def _check_field_types(record: RecordType, document: SchemaDocument) -> None:
    for field in record.fields:
        empty = _empty_union(field.type)
        if empty is not None:
            raise SchemaError(document.where(empty.pointer), EMPTY_UNION)


def _check_defaults(record: RecordType, document: SchemaDocument) -> None:
    """Defaults Java accepts but that cannot become a Python value (a date past 9999)."""
    for field in record.fields:
        if not field.has_default:
            continue
        try:
            check_default(field.type, field.default)
        except DefaultError as exc:
            reason = f"invalid default for field {field.name!r}: {exc}"
            raise SchemaError(document.where((*field.pointer, "default")), reason) from exc
