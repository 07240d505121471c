"""A version of a subject's schema, as the gate compares them."""

from dataclasses import dataclass

from playball_core.avro.schema import SchemaDocument


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One version of a subject's schema: where it comes from, and the parsed document."""

    label: str  # "v3", "3f2a9c1", "working tree", a file name
    document: SchemaDocument
