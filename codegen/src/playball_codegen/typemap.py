"""Avro types as Python: annotations, conversions to and from fastavro's dict form, checks.

The dict form is what fastavro writes and (with ``return_named_type``) reads: logical
types as Python objects, enums as symbol strings, and a named type inside a union as
a ``(full name, value)`` tuple, so the branch is explicit both ways. Conversions are
emitted only where the dict form differs from the attribute value, to keep the hot
path of plain records free of per-field work.
"""

from dataclasses import dataclass, field

from playball_codegen.model import (
    Array,
    AvroType,
    EnumDef,
    FixedDef,
    Logical,
    Map,
    NamedRef,
    Primitive,
    RecordDef,
    SchemaSet,
    Union,
)

PRIMITIVE_ANNOTATIONS = {
    "null": "None",
    "boolean": "bool",
    "int": "int",
    "long": "int",
    "float": "float",
    "double": "float",
    "bytes": "bytes",
    "string": "str",
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
    "null": "type(None)",
    "boolean": "bool",
    "int": "int",
    "long": "int",
    "float": "float",
    "double": "float",
    "bytes": "bytes",
    "string": "str",
}


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


@dataclass
class UnionHelper:
    name: str
    source: str


def bytes_branches(union: Union, schema_set: SchemaSet) -> list[AvroType]:
    """The branches of ``union`` whose Python value is ``bytes`` (bytes, non-decimal fixed)."""
    return [
        branch
        for branch in union.branches
        if branch == Primitive("bytes")
        or (
            isinstance(branch, NamedRef)
            and isinstance(fixed := schema_set.named[branch.full_name], FixedDef)
            and fixed.decimal is None
        )
    ]


def is_bytes_ambiguous(union: Union, schema_set: SchemaSet) -> bool:
    """Whether a plain ``bytes`` value could belong to several branches of ``union``.

    Then each fixed branch gets a ``bytes`` subclass of its own, so a value says which
    branch it is: ``["bytes", Hash4]`` writes ``b"abcd"`` as bytes and ``Hash4(b"abcd")``
    as the fixed, and reads give the same classes back.
    """
    return len(bytes_branches(union, schema_set)) > 1


def wrapped_fixed(schema_set: SchemaSet) -> list[FixedDef]:
    """Fixed types that are a branch of some bytes-ambiguous union, in definition order."""
    unions: list[Union] = []
    for definition in schema_set.named.values():
        if isinstance(definition, RecordDef):
            for record_field in definition.fields:
                unions.extend(_unions(record_field.type))
    wrapped = {
        branch.full_name
        for union in unions
        if is_bytes_ambiguous(union, schema_set)
        for branch in bytes_branches(union, schema_set)
        if isinstance(branch, NamedRef)
    }
    return [
        d for d in schema_set.named.values() if isinstance(d, FixedDef) and d.full_name in wrapped
    ]


@dataclass
class TypeMapper:
    schema_set: SchemaSet
    class_names: dict[str, str]
    helpers: dict[Union, UnionHelper] = field(default_factory=dict)

    def branch_annotation(self, union: Union, branch: AvroType) -> str:
        """A branch's annotation: a fixed's own class where bytes would not tell it apart."""
        if (
            isinstance(branch, NamedRef)
            and branch.full_name in self.class_names
            and is_bytes_ambiguous(union, self.schema_set)
        ):
            return self.class_names[branch.full_name]
        return self.annotation(branch)

    # -- annotations -------------------------------------------------------------------

    def annotation(self, avro_type: AvroType) -> str:  # noqa: PLR0911 - one case per type
        match avro_type:
            case Primitive(name):
                return PRIMITIVE_ANNOTATIONS[name]
            case Logical(logical):
                return LOGICAL_ANNOTATIONS[logical]
            case NamedRef(full):
                definition = self.schema_set.named[full]
                if isinstance(definition, FixedDef):
                    return "_decimal.Decimal" if definition.decimal else "bytes"
                return self.class_names[full]
            case Array(items):
                return f"list[{self.annotation(items)}]"
            case Map(values):
                return f"dict[str, {self.annotation(values)}]"
            case Union(branches):
                parts = [
                    self.branch_annotation(avro_type, b) for b in branches if b != Primitive("null")
                ]
                if Primitive("null") in branches:
                    parts.append("None")
                return " | ".join(dict.fromkeys(parts))  # two fixed types are both bytes
        raise AssertionError(avro_type)  # pragma: no cover

    # -- conversions -------------------------------------------------------------------

    def needs_conversion(self, avro_type: AvroType) -> bool:
        match avro_type:
            case NamedRef(full):
                return not isinstance(self.schema_set.named[full], FixedDef)
            case Array(items):
                return self.needs_conversion(items)
            case Map(values):
                return self.needs_conversion(values)
            case Union(branches):
                return any(isinstance(b, NamedRef) or self.needs_conversion(b) for b in branches)
        return False

    def to_avro(self, avro_type: AvroType, value: str, depth: int = 0) -> str:
        if not self.needs_conversion(avro_type):
            return value
        item = f"v{depth}"
        match avro_type:
            case NamedRef(full):
                if isinstance(self.schema_set.named[full], EnumDef):
                    return f"{value}.value"
                return f"{value}.to_avro()"
            case Array(items):
                return f"[{self.to_avro(items, item, depth + 1)} for {item} in {value}]"
            case Map(values):
                converted = self.to_avro(values, item, depth + 1)
                return f"{{k{depth}: {converted} for k{depth}, {item} in {value}.items()}}"
            case Union():
                return f"{self.union_helper(avro_type).name}_to_avro({value})"
        raise AssertionError(avro_type)  # pragma: no cover

    def from_avro(self, avro_type: AvroType, value: str, depth: int = 0) -> str:
        if not self.needs_conversion(avro_type):
            return value
        item = f"v{depth}"
        match avro_type:
            case NamedRef(full):
                return self._named_from_avro(full, value)
            case Array(items):
                return f"[{self.from_avro(items, item, depth + 1)} for {item} in {value}]"
            case Map(values):
                converted = self.from_avro(values, item, depth + 1)
                return f"{{k{depth}: {converted} for k{depth}, {item} in {value}.items()}}"
            case Union():
                return f"{self.union_helper(avro_type).name}_from_avro({value})"
        raise AssertionError(avro_type)  # pragma: no cover

    def _named_from_avro(self, full: str, value: str) -> str:
        definition = self.schema_set.named[full]
        if isinstance(definition, EnumDef):
            return f"{self.class_names[full]}({value})"
        if isinstance(definition, RecordDef):
            return f"{self.class_names[full]}.from_avro({value})"
        return f"_t.cast({self.annotation(NamedRef(full))}, {value})"

    # -- fast path ---------------------------------------------------------------------

    def wire_fields(self, record: RecordDef) -> list[str]:
        """Fields converted by the class itself on the binary fast path.

        Only a record's own logical-type fields qualify, and only when the record does
        not contain itself: fastavro shares one definition per named type, so a nested
        occurrence would otherwise see the primitive schema with objects in it.
        """
        if self._refers_to(record.full_name, record, set()):
            return []
        return [
            f.name
            for f in record.fields
            if isinstance(f.type, Logical) and f.type.logical in WIRE_CONVERSIONS
        ]

    def _refers_to(self, target: str, record: RecordDef, seen: set[str]) -> bool:
        seen.add(record.full_name)
        for named in (n for f in record.fields for n in _named_refs(f.type)):
            if named == target:
                return True
            definition = self.schema_set.named[named]
            if (
                isinstance(definition, RecordDef)
                and named not in seen
                and self._refers_to(target, definition, seen)
            ):
                return True
        return False

    def to_wire(self, avro_type: AvroType, value: str) -> str:
        if isinstance(avro_type, Logical) and avro_type.logical in WIRE_CONVERSIONS:
            return WIRE_CONVERSIONS[avro_type.logical][0].format(value)
        return self.to_avro(avro_type, value)

    def from_wire(self, avro_type: AvroType, value: str) -> str:
        if isinstance(avro_type, Logical) and avro_type.logical in WIRE_CONVERSIONS:
            return WIRE_CONVERSIONS[avro_type.logical][1].format(value)
        return self.from_avro(avro_type, value)

    # -- union helpers -----------------------------------------------------------------

    def union_helper(self, union: Union) -> UnionHelper:
        helper = self.helpers.get(union)
        if helper is None:
            name = f"_union{len(self.helpers)}"
            helper = UnionHelper(name, "")  # registered first: a branch may recurse here
            self.helpers[union] = helper
            helper.source = self._render_union_helper(name, union)
        return helper

    def _branch_class(self, branch: AvroType) -> str:
        match branch:
            case Primitive(name):
                return PRIMITIVE_CLASSES[name]
            case Logical() | NamedRef():
                return self.annotation(branch)
            case Array():
                return "list"
            case Map():
                return "dict"
        raise AssertionError(branch)  # pragma: no cover

    def _render_union_helper(self, name: str, union: Union) -> str:
        annotation = self.annotation(union)
        has_record = any(
            isinstance(b, NamedRef) and isinstance(self.schema_set.named[b.full_name], RecordDef)
            for b in union.branches
        )
        to_lines = [f"def {name}_to_avro(value: {annotation}) -> _t.Any:"]
        from_lines = [
            f"def {name}_from_avro(value: _t.Any) -> {annotation}:",
            "    if type(value) is tuple:",
            "        branch, datum = value",
        ]
        fallback: list[str] = []
        exhaustive = True  # every branch told apart by isinstance alone
        ambiguous = is_bytes_ambiguous(union, self.schema_set)
        by_length: list[str] = []  # plain bytes to a fixed branch, when no bytes branch
        for branch in union.branches:
            if isinstance(branch, NamedRef) and ambiguous and self._is_plain_fixed(branch):
                # Its own class first: a plain bytes value is the bytes branch's.
                full, cls = branch.full_name, self.class_names[branch.full_name]
                size = self._fixed_size(full)
                to_lines[1:1] = [
                    f"    if isinstance(value, {cls}):",
                    f"        return ({full!r}, bytes(value))",
                ]
                by_length += [
                    f"    if isinstance(value, bytes) and len(value) == {size}:",
                    f"        return ({full!r}, value)",
                ]
                from_lines += [
                    f"        if branch == {full!r}:",
                    f"            return {cls}(datum)",
                ]
                exhaustive = False
            elif isinstance(branch, NamedRef):
                full = branch.full_name
                definition = self.schema_set.named[full]
                if isinstance(definition, FixedDef) and not definition.decimal:
                    test = f"isinstance(value, bytes) and len(value) == {definition.size}"
                    exhaustive = False
                else:
                    test = f"isinstance(value, {self._branch_class(branch)})"
                to_lines += [
                    f"    if {test}:",
                    f"        return ({full!r}, {self.to_avro(branch, 'value')})",
                ]
                from_lines += [
                    f"        if branch == {full!r}:",
                    f"            return {self._named_from_avro(full, 'datum')}",
                ]
            elif branch == Primitive("bytes") and ambiguous:
                # Tagged: fastavro would otherwise give a 4-byte value to a fixed of 4.
                to_lines += ["    if isinstance(value, bytes):", '        return ("bytes", value)']
                by_length = []
            elif self.needs_conversion(branch) or (isinstance(branch, Map) and has_record):
                # A map next to a record is tagged too: a dict alone would be ambiguous.
                converted = self.to_avro(branch, "value")
                if isinstance(branch, Map) and has_record:
                    converted = f'("map", {converted})'
                to_lines += [
                    f"    if isinstance(value, {self._branch_class(branch)}):",
                    f"        return {converted}",
                ]
                fallback += [
                    f"    if isinstance(value, {self._branch_class(branch)}):",
                    f"        return {self.from_avro(branch, 'value')}",
                ]
            else:
                exhaustive = False
        if any('bytes", value)' in line for line in to_lines):
            by_length = []
        to_lines += by_length
        to_lines.append("    return value" if not exhaustive else "    _t.assert_never(value)")
        if ambiguous:
            fallback += self._untagged_bytes(union)
        from_lines += [
            '        msg = f"unexpected union branch {branch!r}"',
            "        raise _runtime.AvroValueError(msg)",
            *fallback,
            f"    result: {annotation} = value",
            "    return result",
        ]
        return "\n".join(to_lines) + "\n\n\n" + "\n".join(from_lines) + "\n"

    def _untagged_bytes(self, union: Union) -> list[str]:
        """Plain bytes in the dict form go where fastavro would write them: the first fit."""
        lines = ["    if isinstance(value, bytes):"]
        for branch in bytes_branches(union, self.schema_set):
            if isinstance(branch, NamedRef):
                full = branch.full_name
                lines += [
                    f"        if len(value) == {self._fixed_size(full)}:",
                    f"            return {self.class_names[full]}(value)",
                ]
            else:
                lines.append("        return value")
                break
        return lines

    def _is_plain_fixed(self, branch: NamedRef) -> bool:
        definition = self.schema_set.named[branch.full_name]
        return isinstance(definition, FixedDef) and definition.decimal is None

    def _fixed_size(self, full: str) -> int:
        definition = self.schema_set.named[full]
        assert isinstance(definition, FixedDef)
        return definition.size

    # -- checks ------------------------------------------------------------------------

    def checks(  # noqa: PLR0911 - one case per type
        self, avro_type: AvroType, value: str, where: str, depth: int = 0, prefix: str = "v"
    ) -> list[str]:
        """Statements rejecting values fastavro would write wrongly or not at all.

        ``prefix`` names the loop variables, distinct per field so that mypy sees one
        type per variable in ``__post_init__``.
        """
        item = f"{prefix}{depth}"
        match avro_type:
            case Logical(logical) if logical.startswith("timestamp-"):
                return [
                    f"if {value}.utcoffset() is None:",
                    f"    raise _runtime.naive_timestamp({where!r}, {value})",
                ]
            case Logical(logical) if logical.startswith("local-timestamp-"):
                return [
                    f"if {value}.tzinfo is not None:",
                    f"    raise _runtime.aware_local_timestamp({where!r}, {value})",
                ]
            case Logical("decimal", precision=precision, scale=scale):
                return [f"_runtime.require_decimal({value}, {precision}, {scale}, {where!r})"]
            case NamedRef(full):
                definition = self.schema_set.named[full]
                if isinstance(definition, FixedDef):
                    if definition.decimal is not None:
                        return self.checks(definition.decimal, value, where, depth, prefix)
                    return [f"_runtime.require_fixed({value}, {definition.size}, {where!r})"]
                return []
            case Array(items):
                inner = self.checks(items, item, f"{where}[]", depth + 1, prefix)
                return [f"for {item} in {value}:", *_indent(inner)] if inner else []
            case Map(values):
                inner = self.checks(values, item, f"{where}{{}}", depth + 1, prefix)
                return [f"for {item} in {value}.values():", *_indent(inner)] if inner else []
            case Union(branches):
                return self._union_checks(branches, value, where, depth, prefix)
        return []

    def _union_checks(
        self, branches: tuple[AvroType, ...], value: str, where: str, depth: int, prefix: str
    ) -> list[str]:
        classes = [self._branch_class(b) for b in branches]
        lines: list[str] = []
        for branch, cls in zip(branches, classes, strict=True):
            inner = self.checks(branch, value, where, depth, prefix)
            # A check applies only when the value's class tells its branch apart.
            if not inner or classes.count(cls) != 1:
                continue
            guard = f"isinstance({value}, {cls})"
            if len(inner) == 2 and inner[0].startswith("if "):
                lines += [f"if {guard} and {inner[0][3:]}", inner[1]]
            else:
                lines += [f"if {guard}:", *_indent(inner)]
        return lines


def _unions(avro_type: AvroType) -> list[Union]:
    match avro_type:
        case Array(inner) | Map(inner):
            return _unions(inner)
        case Union(branches):
            return [avro_type, *(u for branch in branches for u in _unions(branch))]
    return []


def _named_refs(avro_type: AvroType) -> list[str]:
    match avro_type:
        case NamedRef(full):
            return [full]
        case Array(inner) | Map(inner):
            return _named_refs(inner)
        case Union(branches):
            return [name for branch in branches for name in _named_refs(branch)]
    return []


def _indent(lines: list[str]) -> list[str]:
    return [f"    {line}" for line in lines]
