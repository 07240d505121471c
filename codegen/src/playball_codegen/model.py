"""The resolved schema model the generator works from.

Types refer to named types by full name (:class:`NamedRef`), so recursive and
cross-file references are plain values; the definitions live in :class:`SchemaSet`.
It is converted from the shared parser's graph (:mod:`playball_core.avro`).
"""

from dataclasses import dataclass, field
from typing import Any

from playball_codegen.loader import SourceFile

PRIMITIVES = ("null", "boolean", "int", "long", "float", "double", "bytes", "string")


@dataclass(frozen=True, slots=True)
class Primitive:
    name: str


@dataclass(frozen=True, slots=True)
class Logical:
    """A primitive carrying a logical type the generator maps to a richer Python type."""

    logical: str  # uuid, date, time-millis, timestamp-micros, decimal, ...
    base: str  # the primitive underneath
    precision: int = 0  # decimal only
    scale: int = 0  # decimal only


@dataclass(frozen=True, slots=True)
class NamedRef:
    full_name: str


@dataclass(frozen=True, slots=True)
class Array:
    items: "AvroType"


@dataclass(frozen=True, slots=True)
class Map:
    values: "AvroType"


@dataclass(frozen=True, slots=True)
class Union:
    branches: tuple["AvroType", ...]


AvroType = Primitive | Logical | NamedRef | Array | Map | Union


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a definition sits in its source, for error messages and headers."""

    source: SourceFile
    where: str  # "file:line:col", as messages start


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: AvroType
    doc: str | None
    has_default: bool
    default: Any
    where: str  # "file:line:col" of the field


@dataclass(frozen=True, slots=True)
class RecordDef:
    full_name: str
    namespace: str
    doc: str | None
    fields: tuple[Field, ...]
    origin: Origin
    node: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EnumDef:
    full_name: str
    namespace: str
    doc: str | None
    symbols: tuple[str, ...]
    default: str | None
    origin: Origin
    node: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FixedDef:
    full_name: str
    namespace: str
    size: int
    decimal: Logical | None  # a fixed may carry the decimal logical type
    origin: Origin
    node: dict[str, Any]


NamedDef = RecordDef | EnumDef | FixedDef


@dataclass(frozen=True, slots=True)
class SchemaSet:
    sources: tuple[SourceFile, ...]
    named: dict[str, NamedDef] = field(default_factory=dict)  # in definition order
    warnings: list[str] = field(default_factory=list)  # "file:line:col: what", to show

    def simple_name(self, full_name: str) -> str:
        return full_name.rpartition(".")[2]
