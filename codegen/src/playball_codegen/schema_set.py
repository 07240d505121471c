"""The schemas of a directory as the core parsed them, with where each named type is defined.

The types are the core's (:mod:`playball_core.avro.schema`): a named type is one shared
object wherever it is used, so the generator follows references without a lookup.
"""

from dataclasses import dataclass, field
from typing import Any

from playball_core.avro.schema import EnumType, NamedType, RecordType, SchemaDocument

from playball_codegen.loader import SourceFile


@dataclass(frozen=True, slots=True)
class Definition:
    """Where a named type is defined: its file and the parsed document holding it."""

    source: SourceFile
    document: SchemaDocument


@dataclass(frozen=True, slots=True)
class SchemaSet:
    sources: tuple[SourceFile, ...]
    named: dict[str, NamedType] = field(default_factory=dict)  # in definition order
    definitions: dict[str, Definition] = field(default_factory=dict)  # by full name
    warnings: list[str] = field(default_factory=list)  # "file:line:col: what", to show

    def add(self, named: NamedType, source: SourceFile, document: SchemaDocument) -> None:
        self.named[named.full_name] = named
        self.definitions[named.full_name] = Definition(source, document)

    def records(self) -> list[RecordType]:
        return [named for named in self.named.values() if isinstance(named, RecordType)]

    def enums(self) -> list[EnumType]:
        return [named for named in self.named.values() if isinstance(named, EnumType)]

    def file_name(self, named: NamedType) -> str:
        """The name of the file that defines ``named``, for docstrings."""
        return self.definitions[named.full_name].source.name

    def where(self, named: NamedType) -> str:
        """``file:line:col`` of the definition, as messages start."""
        return self.definitions[named.full_name].document.where(named.pointer)

    def node(self, named: NamedType) -> dict[str, Any]:
        """The definition's JSON object, as written in its file."""
        node: dict[str, Any] = self.definitions[named.full_name].document.value_at(named.pointer)
        return node
