"""Unions where a plain ``bytes`` value would not say which branch it is.

In ``["bytes", {"type": "fixed", "name": "Four", "size": 4}]`` a 4-byte value fits both
branches. Each fixed of such a union gets a ``bytes`` subclass of its own, so a value says
which branch it is: ``b"abcd"`` writes the bytes branch and ``Four(b"abcd")`` the fixed,
and reads give the same classes back.
"""

from playball_core.avro.schema import AvroType, FixedType, Kind, UnionType

from playball_codegen.logical import is_decimal_fixed, is_plain
from playball_codegen.schema_set import SchemaSet
from playball_codegen.walk import unions_in


def is_plain_fixed(avro_type: AvroType) -> bool:
    """A fixed whose Python value is ``bytes`` (not a decimal)."""
    return isinstance(avro_type, FixedType) and not is_decimal_fixed(avro_type)


def bytes_branches(union: UnionType) -> list[AvroType]:
    """The branches of ``union`` whose Python value is ``bytes`` (bytes, non-decimal fixed)."""
    return [b for b in union.branches if is_plain(b, Kind.BYTES) or is_plain_fixed(b)]


def is_bytes_ambiguous(union: UnionType) -> bool:
    """Whether a plain ``bytes`` value could belong to several branches of ``union``."""
    return len(bytes_branches(union)) > 1


def wrapped_fixed(schema_set: SchemaSet) -> list[FixedType]:
    """Fixed types that are a branch of some bytes-ambiguous union, in definition order."""
    unions = [
        union
        for record in schema_set.records()
        for field in record.fields
        for union in unions_in(field.type)
    ]
    wrapped = {
        branch.full_name
        for union in unions
        if is_bytes_ambiguous(union)
        for branch in bytes_branches(union)
        if isinstance(branch, FixedType)
    }
    return [
        named
        for named in schema_set.named.values()
        if isinstance(named, FixedType) and named.full_name in wrapped
    ]
