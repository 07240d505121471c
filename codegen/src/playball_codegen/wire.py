"""The binary fast path: a record converts its own logical-type fields to primitives.

fastavro then writes and reads plain primitives (its generic logical-type dispatch is the
largest cost in a small record); the bytes are the ones fastavro would produce.
"""

from playball_core.avro.schema import AvroType, RecordType

from playball_codegen.conversions import Conversions
from playball_codegen.logical import mapped_logical
from playball_codegen.walk import named_in

# Logical types a record converts itself on its fast path: (to primitive, from primitive).
WIRE_CONVERSIONS = {
    "uuid": ("str({})", "_uuid.UUID({})"),
    "date": ("_runtime.date_days({})", "_runtime.from_date_days({})"),
    "time-millis": ("_runtime.time_millis({})", "_runtime.from_time_millis({})"),
    "time-micros": ("_runtime.time_micros({})", "_runtime.from_time_micros({})"),
    "timestamp-millis": ("_runtime.timestamp_millis({})", "_runtime.from_timestamp_millis({})"),
    "timestamp-micros": ("_runtime.timestamp_micros({})", "_runtime.from_timestamp_micros({})"),
    "local-timestamp-millis": (
        "_runtime.local_timestamp_millis({})",
        "_runtime.from_local_timestamp_millis({})",
    ),
    "local-timestamp-micros": (
        "_runtime.local_timestamp_micros({})",
        "_runtime.from_local_timestamp_micros({})",
    ),
}


def wire_fields(record: RecordType) -> list[str]:
    """Fields converted by the class itself on the binary fast path.

    Only a record's own logical-type fields qualify, and only when the record does not
    contain itself: fastavro shares one definition per named type, so a nested
    occurrence would otherwise see the primitive schema with objects in it.
    """
    if _refers_to(record, record, set()):
        return []
    return [f.name for f in record.fields if mapped_logical(f.type) in WIRE_CONVERSIONS]


def _refers_to(target: RecordType, record: RecordType, seen: set[str]) -> bool:
    seen.add(record.full_name)
    for named in (n for f in record.fields for n in named_in(f.type)):
        if named is target:
            return True
        if (
            isinstance(named, RecordType)
            and named.full_name not in seen
            and _refers_to(target, named, seen)
        ):
            return True
    return False


def to_wire(conversions: Conversions, avro_type: AvroType, value: str) -> str:
    logical = mapped_logical(avro_type)
    if logical in WIRE_CONVERSIONS:
        return WIRE_CONVERSIONS[logical][0].format(value)
    return conversions.to_avro(avro_type, value)


def from_wire(conversions: Conversions, avro_type: AvroType, value: str) -> str:
    logical = mapped_logical(avro_type)
    if logical in WIRE_CONVERSIONS:
        return WIRE_CONVERSIONS[logical][1].format(value)
    return conversions.from_avro(avro_type, value)
