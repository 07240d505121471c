"""Which logical types the generator gives a richer Python type than their underlying one.

The core parser has already dropped every invalid logical type (with a warning), so a
logical type on a parsed node is valid; the generator maps these, on primitives, and the
decimal on a fixed. Any other (unknown ones, ``timestamp-nanos``, ``duration``, a uuid on a
fixed) leaves the underlying type's Python type.
"""

from playball_core.avro.schema import AvroType, FixedType, Kind, PrimitiveType

MAPPED_LOGICAL_TYPES = frozenset(
    {
        "uuid",
        "date",
        "time-millis",
        "time-micros",
        "timestamp-millis",
        "timestamp-micros",
        "local-timestamp-millis",
        "local-timestamp-micros",
        "decimal",
    }
)


def mapped_logical(avro_type: AvroType) -> str | None:
    """The logical type of a primitive that becomes a richer Python type, or None."""
    if isinstance(avro_type, PrimitiveType) and avro_type.logical_type in MAPPED_LOGICAL_TYPES:
        return avro_type.logical_type
    return None


def is_plain(avro_type: AvroType, kind: Kind) -> bool:
    """Whether ``avro_type`` is the primitive ``kind`` with no mapped logical type."""
    return (
        isinstance(avro_type, PrimitiveType)
        and avro_type.kind is kind
        and mapped_logical(avro_type) is None
    )


def is_decimal_fixed(avro_type: AvroType) -> bool:
    return isinstance(avro_type, FixedType) and avro_type.logical_type == "decimal"


def decimal_precision(avro_type: AvroType) -> int:
    precision: int = avro_type.props["precision"]
    return precision


def decimal_scale(avro_type: AvroType) -> int:
    scale: int = avro_type.props.get("scale", 0)
    return scale
