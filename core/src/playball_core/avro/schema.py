"""A parsed Avro schema: a typed tree of types, with names resolved and source pointers kept.

Named types are shared objects: every reference to ``Address`` is the same
:class:`RecordType` instance, so a recursive schema is a cyclic graph, exactly as in Java's
``Schema.Parser``. The compatibility engine relies on that identity to memoize pairs.

Each node keeps the pointer (keys and indexes from the document root) of the JSON value
that defines it, which :class:`SchemaDocument` turns into a ``line:col``.

This is the one schema model of the project: the gate compares it, codegen converts it.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from playball_core.avro.jsonpos import Pointer, Position, PositionedJson


class Kind(StrEnum):
    NULL = "null"
    BOOLEAN = "boolean"
    INT = "int"
    LONG = "long"
    FLOAT = "float"
    DOUBLE = "double"
    BYTES = "bytes"
    STRING = "string"
    RECORD = "record"
    ENUM = "enum"
    FIXED = "fixed"
    ARRAY = "array"
    MAP = "map"
    UNION = "union"


PRIMITIVE_KINDS = frozenset(
    {
        Kind.NULL,
        Kind.BOOLEAN,
        Kind.INT,
        Kind.LONG,
        Kind.FLOAT,
        Kind.DOUBLE,
        Kind.BYTES,
        Kind.STRING,
    }
)


@dataclass(eq=False, kw_only=True)
class AvroType:
    """Base of every schema node; identity (not value) equality, like Java's checker."""

    kind: Kind
    pointer: Pointer
    logical_type: str | None = None
    # Other attributes that matter to lint rules (decimal precision and scale).
    props: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return self.kind.value


@dataclass(eq=False, kw_only=True)
class PrimitiveType(AvroType):
    pass


@dataclass(eq=False, kw_only=True)
class NamedType(AvroType):
    full_name: str
    aliases: frozenset[str]  # full names, resolved against this type's namespace
    doc: str | None = None
    defined_in: str = ""  # label of the source that defines it, for "defined twice"

    @property
    def name(self) -> str:
        return self.full_name.rpartition(".")[2]

    @property
    def namespace(self) -> str:
        return self.full_name.rpartition(".")[0]

    def describe(self) -> str:
        return f"{self.kind.value} {self.full_name}"


@dataclass(eq=False, kw_only=True)
class Field:
    name: str
    type: AvroType
    pos: int
    pointer: Pointer
    aliases: tuple[str, ...] = ()
    doc: str | None = None
    has_default: bool = False
    default: Any = None
    # Data-contract tags from every ``<prefix>:tags`` attribute (``confluent:tags``), in
    # order, without duplicates: ``("PII",)`` marks personal data (see ``avro.tags``).
    tags: tuple[str, ...] = ()


@dataclass(eq=False, kw_only=True)
class RecordType(NamedType):
    # Filled after the record's name is registered, so fields may refer to the record itself.
    fields: list[Field] = field(default_factory=list)
    # Built on first lookup: a linear scan per lookup made comparing records quadratic.
    _by_name: dict[str, Field] | None = field(default=None, init=False, repr=False)

    def field_named(self, name: str) -> Field | None:
        if self._by_name is None or len(self._by_name) != len(self.fields):
            self._by_name = {candidate.name: candidate for candidate in self.fields}
        return self._by_name.get(name)


@dataclass(eq=False, kw_only=True)
class EnumType(NamedType):
    symbols: tuple[str, ...]
    default: str | None = None


@dataclass(eq=False, kw_only=True)
class FixedType(NamedType):
    size: int


@dataclass(eq=False, kw_only=True)
class ArrayType(AvroType):
    items: AvroType


@dataclass(eq=False, kw_only=True)
class MapType(AvroType):
    values: AvroType


@dataclass(eq=False, kw_only=True)
class UnionType(AvroType):
    branches: tuple[AvroType, ...]


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a schema text came from, for messages: a label, and a file path if it has one."""

    label: str  # "schemas/UserRegistered.avsc", "3f2a9c1:schemas/UserRegistered.avsc"
    file: str | None = None  # path a CI annotation may point at; None for git/registry copies


@dataclass(frozen=True, slots=True)
class SchemaWarning:
    """Something accepted that a user should know about (a non-ASCII name, an ignored type)."""

    pointer: Pointer
    message: str


@dataclass(frozen=True, slots=True)
class SchemaDocument:
    root: AvroType
    source: SourceRef
    json: PositionedJson
    text: str
    warnings: tuple[SchemaWarning, ...] = ()
    defined: tuple[NamedType, ...] = ()  # the named types this text defines, in order

    def position_of(self, pointer: Pointer) -> Position | None:
        return self.json.position_of(pointer)

    def value_at(self, pointer: Pointer) -> Any:
        """The JSON value at ``pointer`` (which must exist)."""
        value: Any = self.json.value
        for key in pointer:
            value = value[key]
        return value

    def where(self, pointer: Pointer) -> str:
        """``label:line:col`` of ``pointer``, as every message of the tools starts."""
        position = self.position_of(pointer)
        return f"{self.source.label}:{position}" if position else self.source.label

    def warning_messages(self) -> list[str]:
        return [f"{self.where(w.pointer)}: {w.message}" for w in self.warnings]
