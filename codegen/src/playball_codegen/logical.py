"""Logical types the generator maps to Python types.

Their parameters are checked by the shared parser, which ignores an invalid logical type
(with a warning) and leaves the underlying type, as the Avro specification says.
"""

# logical type -> the primitive it must annotate
LOGICAL_BASES = {
    "uuid": "string",
    "date": "int",
    "time-millis": "int",
    "time-micros": "long",
    "timestamp-millis": "long",
    "timestamp-micros": "long",
    "local-timestamp-millis": "long",
    "local-timestamp-micros": "long",
    "decimal": "bytes",
}
