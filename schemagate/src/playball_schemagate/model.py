"""The schema model the gate compares (the shared one), and a version of a subject's schema."""

from dataclasses import dataclass

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

__all__ = [
    "PRIMITIVE_KINDS",
    "ArrayType",
    "AvroType",
    "EnumType",
    "Field",
    "FixedType",
    "Kind",
    "MapType",
    "NamedType",
    "PrimitiveType",
    "RecordType",
    "SchemaDocument",
    "SchemaVersion",
    "SchemaWarning",
    "SourceRef",
    "UnionType",
]


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One version of a subject's schema, as the gate compares them."""

    label: str  # "v3", "3f2a9c1", "working tree", a file name
    document: SchemaDocument
