"""Logical types the generator maps, and the checks on their parameters."""

import math
from typing import Any

from playball_codegen.model import Logical

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


class LogicalTypeError(ValueError):
    """Bad parameters for a logical type; the message is the reason."""


def max_decimal_precision(size: int) -> int:
    """Digits a two's-complement fixed of ``size`` bytes can always hold."""
    return math.floor(math.log10(2 ** (8 * size - 1) - 1)) if size > 0 else 0


def _int_param(node: dict[str, Any], key: str, default: int | None) -> int:
    value = node.get(key, default)
    if value is None:
        msg = f"decimal needs '{key}'"
        raise LogicalTypeError(msg)
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"decimal '{key}' must be an integer, not {value!r}"
        raise LogicalTypeError(msg)
    return value


def decimal_type(node: dict[str, Any], base: str, fixed_size: int | None) -> Logical:
    precision = _int_param(node, "precision", None)
    scale = _int_param(node, "scale", 0)
    if precision < 1:
        msg = f"decimal precision must be at least 1, not {precision}"
        raise LogicalTypeError(msg)
    if not 0 <= scale <= precision:
        msg = f"decimal scale must be between 0 and the precision ({precision}), not {scale}"
        raise LogicalTypeError(msg)
    if fixed_size is not None and precision > max_decimal_precision(fixed_size):
        limit = max_decimal_precision(fixed_size)
        msg = (
            f"decimal precision {precision} does not fit a fixed of {fixed_size} bytes "
            f"(max {limit})"
        )
        raise LogicalTypeError(msg)
    return Logical("decimal", base, precision, scale)


def logical_type(node: dict[str, Any], base: str) -> Logical | None:
    """The logical type a primitive node carries, or None when it has none we map.

    Unknown logical types are ignored, as the Avro specification requires; a known one
    on the wrong primitive is an error because it is almost always a typo.
    """
    name = node.get("logicalType")
    if name is None:
        return None
    if not isinstance(name, str):
        msg = f"logicalType must be a string, not {name!r}"
        raise LogicalTypeError(msg)
    expected = LOGICAL_BASES.get(name)
    if expected is None:
        return None
    if expected != base:
        msg = f"logicalType {name!r} needs type {expected!r}, not {base!r}"
        raise LogicalTypeError(msg)
    if name == "decimal":
        return decimal_type(node, base, None)
    return Logical(name, base)
