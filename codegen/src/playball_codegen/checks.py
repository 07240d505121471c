"""Statements in ``__post_init__`` refusing values fastavro would write wrongly or not at all.

A naive datetime for a timestamp, an aware one for a local timestamp, a decimal with more
digits than its precision or scale allow, a fixed of the wrong length: each is refused
with the field's name and the rule.
"""

from playball_core.avro.schema import ArrayType, AvroType, FixedType, MapType, UnionType

from playball_codegen.annotations import Annotations
from playball_codegen.logical import (
    decimal_precision,
    decimal_scale,
    is_decimal_fixed,
    mapped_logical,
)


def value_checks(  # noqa: PLR0911, PLR0917 - one case per type; the check's position
    annotations: Annotations,
    avro_type: AvroType,
    value: str,
    where: str,
    depth: int = 0,
    prefix: str = "v",
    *,
    personal: bool = False,
) -> list[str]:
    """The statements checking ``value`` (source) of ``avro_type``; ``where`` names it.

    ``prefix`` names the loop variables, distinct per field so that mypy sees one type per
    variable in ``__post_init__``. For a field tagged ``PII`` (``personal``), the error
    names the field and the rule but shows ``<PII>`` instead of the value.
    """
    item = f"{prefix}{depth}"
    logical = mapped_logical(avro_type)
    flag = ", personal=True" if personal else ""
    match avro_type:
        case _ if logical is not None and logical.startswith("timestamp-"):
            return [
                f"if {value}.utcoffset() is None:",
                f"    raise _runtime.naive_timestamp({where!r}, {value}{flag})",
            ]
        case _ if logical is not None and logical.startswith("local-timestamp-"):
            return [
                f"if {value}.tzinfo is not None:",
                f"    raise _runtime.aware_local_timestamp({where!r}, {value}{flag})",
            ]
        case _ if logical == "decimal" or is_decimal_fixed(avro_type):
            precision, scale = decimal_precision(avro_type), decimal_scale(avro_type)
            return [f"_runtime.require_decimal({value}, {precision}, {scale}, {where!r}{flag})"]
        case FixedType(size=size):
            return [f"_runtime.require_fixed({value}, {size}, {where!r})"]
        case ArrayType(items=items):
            inner = value_checks(
                annotations, items, item, f"{where}[]", depth + 1, prefix, personal=personal
            )
            return [f"for {item} in {value}:", *_indent(inner)] if inner else []
        case MapType(values=values):
            inner = value_checks(
                annotations, values, item, f"{where}{{}}", depth + 1, prefix, personal=personal
            )
            return [f"for {item} in {value}.values():", *_indent(inner)] if inner else []
        case UnionType(branches=branches):
            return _union_checks(annotations, branches, value, where, depth, prefix, personal)
    return []


def _union_checks(  # noqa: PLR0917 - the check's position and the union
    annotations: Annotations,
    branches: tuple[AvroType, ...],
    value: str,
    where: str,
    depth: int,
    prefix: str,
    personal: bool,
) -> list[str]:
    classes = [annotations.branch_class(b) for b in branches]
    lines: list[str] = []
    for branch, cls in zip(branches, classes, strict=True):
        inner = value_checks(annotations, branch, value, where, depth, prefix, personal=personal)
        # A check applies only when the value's class tells its branch apart.
        if not inner or classes.count(cls) != 1:
            continue
        guard = f"isinstance({value}, {cls})"
        if len(inner) == 2 and inner[0].startswith("if "):
            lines += [f"if {guard} and {inner[0][3:]}", inner[1]]
        else:
            lines += [f"if {guard}:", *_indent(inner)]
    return lines


def _indent(lines: list[str]) -> list[str]:
    return [f"    {line}" for line in lines]
