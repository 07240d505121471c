"""The helper functions that write and read one union: which branch a value is, both ways.

On write a value's class picks its branch; a named branch is written as ``(full name,
value)`` so fastavro never guesses between records of the same shape. On read fastavro
gives the tagged form back (``return_named_type``), and the helper builds the branch's
class from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from playball_core.avro.schema import FixedType, Kind, MapType, NamedType, RecordType, UnionType

from playball_codegen.bytes_branches import bytes_branches, is_bytes_ambiguous, is_plain_fixed
from playball_codegen.logical import is_plain

if TYPE_CHECKING:
    from playball_codegen.conversions import Conversions


def render_union_helper(name: str, union: UnionType, conversions: Conversions) -> str:
    """Source of ``{name}_to_avro`` and ``{name}_from_avro`` for ``union``."""
    annotations = conversions.annotations
    annotation = annotations.annotation(union)
    has_record = any(isinstance(b, RecordType) for b in union.branches)
    to_lines = [f"def {name}_to_avro(value: {annotation}) -> _t.Any:"]
    from_lines = [
        f"def {name}_from_avro(value: _t.Any) -> {annotation}:",
        "    if type(value) is tuple:",
        "        branch, datum = value",
    ]
    fallback: list[str] = []
    exhaustive = True  # every branch told apart by isinstance alone
    ambiguous = is_bytes_ambiguous(union)
    by_length: list[str] = []  # plain bytes to a fixed branch, when no bytes branch
    for branch in union.branches:
        if isinstance(branch, FixedType) and ambiguous and is_plain_fixed(branch):
            # Its own class first: a plain bytes value is the bytes branch's.
            full, cls = branch.full_name, annotations.class_names[branch.full_name]
            to_lines[1:1] = [
                f"    if isinstance(value, {cls}):",
                f"        return ({full!r}, bytes(value))",
            ]
            by_length += [
                f"    if isinstance(value, bytes) and len(value) == {branch.size}:",
                f"        return ({full!r}, value)",
            ]
            from_lines += [
                f"        if branch == {full!r}:",
                f"            return {cls}(datum)",
            ]
            exhaustive = False
        elif isinstance(branch, NamedType):
            full = branch.full_name
            if isinstance(branch, FixedType) and is_plain_fixed(branch):
                test = f"isinstance(value, bytes) and len(value) == {branch.size}"
                exhaustive = False
            else:
                test = f"isinstance(value, {annotations.branch_class(branch)})"
            to_lines += [
                f"    if {test}:",
                f"        return ({full!r}, {conversions.to_avro(branch, 'value')})",
            ]
            from_lines += [
                f"        if branch == {full!r}:",
                f"            return {conversions.named_from_avro(branch, 'datum')}",
            ]
        elif is_plain(branch, Kind.BYTES) and ambiguous:
            # Tagged: fastavro would otherwise give a 4-byte value to a fixed of 4.
            to_lines += ["    if isinstance(value, bytes):", '        return ("bytes", value)']
            by_length = []
        elif conversions.needs_conversion(branch) or (isinstance(branch, MapType) and has_record):
            # A map next to a record is tagged too: a dict alone would be ambiguous.
            converted = conversions.to_avro(branch, "value")
            if isinstance(branch, MapType) and has_record:
                converted = f'("map", {converted})'
            to_lines += [
                f"    if isinstance(value, {annotations.branch_class(branch)}):",
                f"        return {converted}",
            ]
            fallback += [
                f"    if isinstance(value, {annotations.branch_class(branch)}):",
                f"        return {conversions.from_avro(branch, 'value')}",
            ]
        else:
            exhaustive = False
    if any('bytes", value)' in line for line in to_lines):
        by_length = []
    to_lines += by_length
    to_lines.append("    return value" if not exhaustive else "    _t.assert_never(value)")
    if ambiguous:
        fallback += _untagged_bytes(union, conversions)
    from_lines += [
        '        msg = f"unexpected union branch {branch!r}"',
        "        raise _runtime.AvroValueError(msg)",
        *fallback,
        f"    result: {annotation} = value",
        "    return result",
    ]
    return "\n".join(to_lines) + "\n\n\n" + "\n".join(from_lines) + "\n"


def _untagged_bytes(union: UnionType, conversions: Conversions) -> list[str]:
    """Plain bytes in the dict form go where fastavro would write them: the first fit."""
    lines = ["    if isinstance(value, bytes):"]
    for branch in bytes_branches(union):
        if isinstance(branch, FixedType):
            cls = conversions.annotations.class_names[branch.full_name]
            lines += [
                f"        if len(value) == {branch.size}:",
                f"            return {cls}(value)",
            ]
        else:
            lines.append("        return value")
            break
    return lines
