"""Conversions between a class's attribute values and fastavro's dict form, as source.

The dict form is what fastavro writes and (with ``return_named_type``) reads: logical
types as Python objects, enums as symbol strings, and a named type inside a union as
a ``(full name, value)`` tuple, so the branch is explicit both ways. Conversions are
emitted only where the dict form differs from the attribute value, to keep the hot
path of plain records free of per-field work.
"""

from collections.abc import Hashable
from dataclasses import dataclass

from playball_core.avro.schema import (
    ArrayType,
    AvroType,
    EnumType,
    FixedType,
    MapType,
    NamedType,
    RecordType,
    UnionType,
)

from playball_codegen.annotations import Annotations
from playball_codegen.logical import decimal_precision, decimal_scale, mapped_logical
from playball_codegen.union_codec import render_union_helper


@dataclass
class UnionHelper:
    name: str
    source: str


def type_key(avro_type: AvroType) -> Hashable:
    """What makes two types the same to the generator: one helper serves equal unions."""
    match avro_type:
        case NamedType(full_name=full):
            return full
        case ArrayType(items=items):
            return ("array", type_key(items))
        case MapType(values=values):
            return ("map", type_key(values))
        case UnionType(branches=branches):
            return ("union", *(type_key(branch) for branch in branches))
    logical = mapped_logical(avro_type)
    if logical == "decimal":
        return ("decimal", decimal_precision(avro_type), decimal_scale(avro_type))
    return (avro_type.kind.value, logical)


class Conversions:
    def __init__(self, annotations: Annotations) -> None:
        self.annotations = annotations
        # One helper per distinct union, in the order they are met: the output is stable.
        self.helpers: dict[Hashable, UnionHelper] = {}

    def needs_conversion(self, avro_type: AvroType) -> bool:
        match avro_type:
            case FixedType():
                return False
            case NamedType():
                return True
            case ArrayType(items=items):
                return self.needs_conversion(items)
            case MapType(values=values):
                return self.needs_conversion(values)
            case UnionType(branches=branches):
                return any(isinstance(b, NamedType) or self.needs_conversion(b) for b in branches)
        return False

    def to_avro(self, avro_type: AvroType, value: str, depth: int = 0) -> str:
        if not self.needs_conversion(avro_type):
            return value
        item = f"v{depth}"
        match avro_type:
            case EnumType():
                return f"{value}.value"
            case NamedType():
                return f"{value}.to_avro()"
            case ArrayType(items=items):
                return f"[{self.to_avro(items, item, depth + 1)} for {item} in {value}]"
            case MapType(values=values):
                converted = self.to_avro(values, item, depth + 1)
                return f"{{k{depth}: {converted} for k{depth}, {item} in {value}.items()}}"
            case UnionType():
                return f"{self.union_helper(avro_type).name}_to_avro({value})"
        raise AssertionError(avro_type)  # pragma: no cover

    def from_avro(self, avro_type: AvroType, value: str, depth: int = 0) -> str:
        if not self.needs_conversion(avro_type):
            return value
        item = f"v{depth}"
        match avro_type:
            case NamedType():
                return self.named_from_avro(avro_type, value)
            case ArrayType(items=items):
                return f"[{self.from_avro(items, item, depth + 1)} for {item} in {value}]"
            case MapType(values=values):
                converted = self.from_avro(values, item, depth + 1)
                return f"{{k{depth}: {converted} for k{depth}, {item} in {value}.items()}}"
            case UnionType():
                return f"{self.union_helper(avro_type).name}_from_avro({value})"
        raise AssertionError(avro_type)  # pragma: no cover

    def named_from_avro(self, named: NamedType, value: str) -> str:
        if isinstance(named, EnumType):
            return f"{self.annotations.class_names[named.full_name]}({value})"
        if isinstance(named, RecordType):
            return f"{self.annotations.class_names[named.full_name]}.from_avro({value})"
        return f"_t.cast({self.annotations.annotation(named)}, {value})"

    def union_helper(self, union: UnionType) -> UnionHelper:
        key = type_key(union)
        helper = self.helpers.get(key)
        if helper is None:
            name = f"_union{len(self.helpers)}"
            helper = UnionHelper(name, "")  # registered first: a branch may recurse here
            self.helpers[key] = helper
            helper.source = render_union_helper(name, union, self)
        return helper
