"""Positions in JSON text: the shared reader (:mod:`playball_core.avro.jsonpos`)."""

from playball_core.avro.jsonpos import (
    JsonSyntaxError,
    Pointer,
    Position,
    PositionedJson,
    parse_json,
)

__all__ = ["JsonSyntaxError", "Pointer", "Position", "PositionedJson", "parse_json"]
