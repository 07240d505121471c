"""What a field's type contains, without following named types into their definitions.

A named type is one shared object in the core's graph (a recursive record contains
itself), so these walks stop at it: its own fields are walked where it is defined.
"""

from playball_core.avro.schema import ArrayType, AvroType, MapType, NamedType, UnionType


def unions_in(avro_type: AvroType) -> list[UnionType]:
    """Every union in ``avro_type``, outermost first."""
    match avro_type:
        case ArrayType(items=inner) | MapType(values=inner):
            return unions_in(inner)
        case UnionType(branches=branches):
            return [avro_type, *(union for branch in branches for union in unions_in(branch))]
    return []


def named_in(avro_type: AvroType) -> list[NamedType]:
    """Every named type ``avro_type`` refers to, in order."""
    match avro_type:
        case NamedType():
            return [avro_type]
        case ArrayType(items=inner) | MapType(values=inner):
            return named_in(inner)
        case UnionType(branches=branches):
            return [named for branch in branches for named in named_in(branch)]
    return []
