"""The gate's entry to the shared Avro parser (:mod:`playball_core.avro.parser`).

A schema the parser refuses is bad input for the gate: :class:`SchemaParseError` is a
:class:`GateInputError`, which the CLI reports with exit 2.
"""

from playball_core.avro.parser import SchemaParseError as CoreSchemaParseError
from playball_core.avro.parser import parse_schema as core_parse_schema
from playball_core.avro.schema import SchemaDocument, SourceRef

from playball_schemagate.errors import GateInputError

__all__ = ["SchemaParseError", "parse_schema"]


class SchemaParseError(GateInputError):
    """The text is not a valid Avro schema."""


def parse_schema(text: str, source: SourceRef) -> SchemaDocument:
    """Parse one schema text; raise :class:`SchemaParseError` naming source and position."""
    try:
        return core_parse_schema(text, source)
    except CoreSchemaParseError as exc:
        raise SchemaParseError(str(exc)) from exc
