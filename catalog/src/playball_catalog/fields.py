"""A record's fields as a person reads them: name, type, default, tags, docs."""

import json
from dataclasses import dataclass

from playball_core.avro.schema import (
    ArrayType,
    AvroType,
    EnumType,
    FixedType,
    MapType,
    NamedType,
    RecordType,
    UnionType,
)
from playball_core.avro.tags import PII


@dataclass(frozen=True, slots=True)
class FieldView:
    name: str
    type: str  # "string (uuid)", "null | string", "array<long>"
    default: str | None  # JSON text of the default; None: no default
    doc: str
    tags: tuple[str, ...]

    @property
    def personal(self) -> bool:
        return PII in self.tags


def type_text(avro_type: AvroType) -> str:
    """A one-line description of a type, with its logical type."""
    if isinstance(avro_type, UnionType):
        return " | ".join(type_text(branch) for branch in avro_type.branches)
    if isinstance(avro_type, ArrayType):
        return f"array<{type_text(avro_type.items)}>"
    if isinstance(avro_type, MapType):
        return f"map<{type_text(avro_type.values)}>"
    if isinstance(avro_type, EnumType):
        return f"enum {avro_type.name} {{{', '.join(avro_type.symbols)}}}"
    if isinstance(avro_type, FixedType):
        text = f"fixed {avro_type.name}[{avro_type.size}]"
    elif isinstance(avro_type, NamedType):
        text = f"{avro_type.kind.value} {avro_type.name}"
    else:
        text = avro_type.kind.value
    return f"{text} ({avro_type.logical_type})" if avro_type.logical_type else text


def field_views(root: AvroType) -> tuple[FieldView, ...]:
    """The top-level record's fields; a schema that is not a record has none."""
    if not isinstance(root, RecordType):
        return ()
    return tuple(
        FieldView(
            name=field.name,
            type=type_text(field.type),
            default=json.dumps(field.default, sort_keys=True) if field.has_default else None,
            doc=field.doc or "",
            tags=field.tags,
        )
        for field in root.fields
    )
