"""The Python type of each Avro type, as an annotation in the generated source."""

from dataclasses import dataclass

from playball_core.avro.schema import (
    ArrayType,
    AvroType,
    FixedType,
    Kind,
    MapType,
    NamedType,
    PrimitiveType,
    UnionType,
)

from playball_codegen.bytes_branches import is_bytes_ambiguous
from playball_codegen.logical import is_decimal_fixed, mapped_logical

PRIMITIVE_ANNOTATIONS = {
    Kind.NULL: "None",
    Kind.BOOLEAN: "bool",
    Kind.INT: "int",
    Kind.LONG: "int",
    Kind.FLOAT: "float",
    Kind.DOUBLE: "float",
    Kind.BYTES: "bytes",
    Kind.STRING: "str",
}
LOGICAL_ANNOTATIONS = {
    "uuid": "_uuid.UUID",
    "date": "_dt.date",
    "time-millis": "_dt.time",
    "time-micros": "_dt.time",
    "timestamp-millis": "_dt.datetime",
    "timestamp-micros": "_dt.datetime",
    "local-timestamp-millis": "_dt.datetime",
    "local-timestamp-micros": "_dt.datetime",
    "decimal": "_decimal.Decimal",
}
# The runtime class a branch's value has, to pick the branch of a union on write.
PRIMITIVE_CLASSES = {
    Kind.NULL: "type(None)",
    Kind.BOOLEAN: "bool",
    Kind.INT: "int",
    Kind.LONG: "int",
    Kind.FLOAT: "float",
    Kind.DOUBLE: "float",
    Kind.BYTES: "bytes",
    Kind.STRING: "str",
}


@dataclass(frozen=True, slots=True)
class Annotations:
    class_names: dict[str, str]  # full name -> generated class (records, enums, wrapped fixed)

    def annotation(self, avro_type: AvroType) -> str:  # noqa: PLR0911 - one case per type
        match avro_type:
            case FixedType():
                return "_decimal.Decimal" if is_decimal_fixed(avro_type) else "bytes"
            case NamedType(full_name=full):
                return self.class_names[full]
            case ArrayType(items=items):
                return f"list[{self.annotation(items)}]"
            case MapType(values=values):
                return f"dict[str, {self.annotation(values)}]"
            case UnionType(branches=branches):
                parts = [
                    self.branch_annotation(avro_type, b)
                    for b in branches
                    if b.kind is not Kind.NULL
                ]
                if any(branch.kind is Kind.NULL for branch in branches):
                    parts.append("None")
                return " | ".join(dict.fromkeys(parts))  # two fixed types are both bytes
        logical = mapped_logical(avro_type)
        if logical is not None:
            return LOGICAL_ANNOTATIONS[logical]
        return PRIMITIVE_ANNOTATIONS[avro_type.kind]

    def branch_annotation(self, union: UnionType, branch: AvroType) -> str:
        """A branch's annotation: a fixed's own class where bytes would not tell it apart."""
        if (
            isinstance(branch, NamedType)
            and branch.full_name in self.class_names
            and is_bytes_ambiguous(union)
        ):
            return self.class_names[branch.full_name]
        return self.annotation(branch)

    def branch_class(self, branch: AvroType) -> str:
        """The class ``isinstance`` tests a union branch's value against."""
        match branch:
            case ArrayType():
                return "list"
            case MapType():
                return "dict"
            case PrimitiveType() if mapped_logical(branch) is None:
                return PRIMITIVE_CLASSES[branch.kind]
        return self.annotation(branch)
