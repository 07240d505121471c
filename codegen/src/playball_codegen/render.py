"""Python source for the record and enum classes of a schema set."""

import re
import textwrap
from dataclasses import dataclass
from typing import Any

from playball_core.avro.schema import (
    ArrayType,
    AvroType,
    EnumType,
    Field,
    FixedType,
    Kind,
    MapType,
    NamedType,
    RecordType,
    UnionType,
)
from playball_core.avro.tags import is_personal

from playball_codegen.checks import value_checks
from playball_codegen.conversions import Conversions
from playball_codegen.defaults import decimal_value, default_branch, json_bytes, logical_value
from playball_codegen.logical import decimal_scale, is_decimal_fixed, mapped_logical
from playball_codegen.pyliteral import json_literal, py_str, python_value
from playball_codegen.pynames import attribute_names, member_names
from playball_codegen.schema_set import SchemaSet
from playball_codegen.wire import from_wire, to_wire, wire_fields

DOC_WIDTH = 88
# The generic runtime the classes call (hand-written, in the runtime library, not generated).
RUNTIME_IMPORT = "from playball_events import records_runtime as _runtime"
STDLIB_ALIASES = {
    "_abc": "import collections.abc as _abc",
    "_dc": "import dataclasses as _dc",
    "_dt": "import datetime as _dt",
    "_decimal": "import decimal as _decimal",
    "_enum": "import enum as _enum",
    "_t": "import typing as _t",
    "_uuid": "import uuid as _uuid",
}


@dataclass(frozen=True, slots=True)
class RecordView:
    """A record with the Python names chosen for it and its fields."""

    definition: RecordType
    class_name: str
    codec_name: str
    attributes: tuple[str, ...]
    schema: dict[str, Any]
    wire_fields: tuple[str, ...]  # converted by the class on the binary fast path


def codec_constant(class_name: str) -> str:
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", class_name).upper()
    return f"_{snake}_CODEC"


def docstring(text: str, indent: str) -> list[str]:
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text = text[:-1] + '\\"'
    paragraphs = text.strip().split("\n")
    lines: list[str] = []
    for paragraph in paragraphs:
        wrapped = textwrap.wrap(paragraph, DOC_WIDTH - len(indent)) or [""]
        lines.extend(wrapped)
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    body = [f"{indent}{line}" if line else "" for line in lines[1:]]
    return [f'{indent}"""{lines[0]}', *body, f'{indent}"""']


class Renderer:
    def __init__(
        self,
        conversions: Conversions,
        schema_set: SchemaSet,
        records: list[RecordView],
        fixed: list[FixedType],
    ):
        self.conversions = conversions
        self.annotations = conversions.annotations
        self.class_names = conversions.annotations.class_names
        self.schema_set = schema_set
        self.records = records
        self.enums = schema_set.enums()
        self.fixed = fixed
        self.fixed_classes = {self.class_names[f.full_name] for f in self.fixed}
        self.views = {view.definition.full_name: view for view in records}
        self.members = {enum.full_name: member_names(enum.symbols) for enum in self.enums}

    # -- defaults ----------------------------------------------------------------------

    def default(  # noqa: PLR0911 - one case per Avro type
        self, avro_type: AvroType, value: Any
    ) -> tuple[str, bool]:
        """Source of a default value and whether it is mutable (needs a factory)."""
        match avro_type:
            case ArrayType(items=items):
                parts = [self.default(items, item)[0] for item in value]
                return "[" + ", ".join(parts) + "]", True
            case MapType(values=values):
                parts = [f"{py_str(k)}: {self.default(values, v)[0]}" for k, v in value.items()]
                return "{" + ", ".join(parts) + "}", True
            case UnionType():
                branch = default_branch(avro_type, value)
                source, mutable = self.default(branch, value)
                wrapper = self.annotations.branch_annotation(avro_type, branch)
                if isinstance(branch, NamedType) and wrapper in self.fixed_classes:
                    return f"{wrapper}({source})", False
                return source, mutable
            case NamedType():
                return self._named_default(avro_type, value)
            case _ if mapped_logical(avro_type) is not None:
                return python_value(logical_value(avro_type, value, "")), False
            case _ if avro_type.kind in (Kind.FLOAT, Kind.DOUBLE):
                return repr(float(value)), False
            case _ if avro_type.kind is Kind.BYTES:
                return repr(json_bytes(value, "")), False
        return python_value(value), False

    def _named_default(self, definition: NamedType, value: Any) -> tuple[str, bool]:
        full = definition.full_name
        if isinstance(definition, EnumType):
            member = self.members[full][definition.symbols.index(value)]
            return f"{self.class_names[full]}.{member}", False
        if isinstance(definition, FixedType):
            raw = json_bytes(value, "")
            if is_decimal_fixed(definition):
                return python_value(decimal_value(raw, decimal_scale(definition))), False
            return repr(raw), False
        view = self.views[full]
        args = []
        for field, attribute in zip(view.definition.fields, view.attributes, strict=True):
            if field.name in value:
                args.append(f"{attribute}={self.default(field.type, value[field.name])[0]}")
        return f"{view.class_name}({', '.join(args)})", True

    def field_line(self, field: Field, attribute: str) -> str:
        annotation = self.annotations.annotation(field.type)
        if not field.has_default:
            return f"    {attribute}: {annotation}"
        source, mutable = self.default(field.type, field.default)
        if not mutable and "(" not in source:
            return f"    {attribute}: {annotation} = {source}"
        if source in ("[]", "{}"):
            factory = "list" if source == "[]" else "dict"
        else:
            factory = f"lambda: {source}"
        return f"    {attribute}: {annotation} = _dc.field(default_factory={factory})"

    # -- classes -----------------------------------------------------------------------

    def enum_class(self, enum: EnumType) -> str:
        name = self.class_names[enum.full_name]
        about = f"Avro enum ``{enum.full_name}`` ({self.schema_set.file_name(enum)})."
        if enum.default is not None:
            about += f" Readers map unknown symbols to ``{enum.default}``."
        doc = f"{enum.doc}\n\n{about}" if enum.doc else about
        lines = [f"class {name}(_enum.Enum):", *docstring(doc, "    "), ""]
        for member, symbol in zip(self.members[enum.full_name], enum.symbols, strict=True):
            lines.append(f"    {member} = {symbol!r}")
        return "\n".join(lines) + "\n"

    def fixed_class(self, fixed: FixedType) -> str:
        """A fixed's own ``bytes`` subclass, for unions where bytes alone is ambiguous."""
        name = self.class_names[fixed.full_name]
        file_name = self.schema_set.file_name(fixed)
        doc = (
            f"Avro fixed ``{fixed.full_name}`` of {fixed.size} bytes ({file_name})."
            "\n\nIn a union that also takes bytes (or another fixed), a plain ``bytes`` value "
            "is written as the ``bytes`` branch; wrap it in this class to write this fixed. "
            "Reads give this class back for this branch, so a round trip keeps the branch."
        )
        return (
            "\n".join(
                [
                    f"class {name}(bytes):",
                    *docstring(doc, "    "),
                    "",
                    "    __slots__ = ()",
                    "",
                    "    def __new__(cls, value: bytes) -> _t.Self:",
                    f"        _runtime.require_fixed(value, {fixed.size}, {name!r})",
                    "        return super().__new__(cls, value)",
                    "",
                    "    # The branch is part of the value: bytes of another branch differ.",
                    "    def __eq__(self, other: object) -> bool:",
                    "        return type(other) is type(self) and bytes.__eq__(self, other)",
                    "",
                    "    def __ne__(self, other: object) -> bool:",
                    "        return not self == other",
                    "",
                    "    __hash__ = bytes.__hash__",
                ]
            )
            + "\n"
        )

    def record_class(self, view: RecordView) -> str:
        record = view.definition
        about = f"Avro record ``{record.full_name}`` ({self.schema_set.file_name(record)})."
        doc = f"{record.doc}\n\n{about}" if record.doc else about
        personal = personal_attributes(view)
        # Fields tagged PII get their own repr (below); dataclass's would show the values.
        options = "frozen=True, slots=True, kw_only=True" + (", repr=False" if personal else "")
        lines = [
            f"@_dc.dataclass({options})",
            f"class {view.class_name}:",
            *docstring(doc, "    "),
            "",
        ]
        for field, attribute in zip(record.fields, view.attributes, strict=True):
            lines.append(self.field_line(field, attribute))
            if field.doc:
                lines.extend(docstring(field.doc, "    "))
        lines += [
            "",
            "    PERSONAL_FIELDS: _t.ClassVar[tuple[str, ...]] = " + _tuple_literal(personal),
            '    """Attributes tagged ``PII`` in the schema: never shown in a repr or a log."""',
        ]
        lines += self._post_init(view)
        lines += self._methods(view)
        if personal:
            lines += [
                "",
                "    def __repr__(self) -> str:",
                '        """The fields as dataclass shows them, those tagged PII as ``<PII>``."""',
                "        return _runtime.record_repr(self)",
            ]
        return "\n".join(lines) + "\n"

    def _post_init(self, view: RecordView) -> list[str]:
        body: list[str] = []
        for index, (field, attribute) in enumerate(
            zip(view.definition.fields, view.attributes, strict=True)
        ):
            where = f"{view.class_name}.{attribute}"
            body += value_checks(
                self.annotations,
                field.type,
                f"self.{attribute}",
                where,
                0,
                f"f{index}_",
                personal=is_personal(field),
            )
        if not body:
            return []
        return ["", "    def __post_init__(self) -> None:", *(f"        {b}" for b in body)]

    def _methods(self, view: RecordView) -> list[str]:
        codec = view.codec_name
        fields = list(zip(view.definition.fields, view.attributes, strict=True))
        to_items = [
            f"            {field.name!r}: {self.conversions.to_avro(field.type, f'self.{attr}')},"
            for field, attr in fields
        ]
        return [
            "",
            "    @classmethod",
            "    def avro_schema(cls) -> dict[str, _t.Any]:",
            '        """The Avro schema of this class, as JSON-able data (a fresh copy)."""',
            f"        return {codec}.schema_copy()",
            "",
            "    def to_avro(self) -> dict[str, _t.Any]:",
            '        """This record in the dict form fastavro writes."""',
            "        return {",
            *to_items,
            "        }",
            "",
            "    @classmethod",
            "    def from_avro(cls, data: _abc.Mapping[str, _t.Any]) -> _t.Self:",
            '        """A record from the dict form fastavro reads (``return_named_type``)."""',
            *self._from_avro_body(fields),
            *self._binary_methods(view, fields),
        ]

    def _binary_methods(self, view: RecordView, fields: list[tuple[Field, str]]) -> list[str]:
        codec, conversions = view.codec_name, self.conversions
        if view.wire_fields:
            wire_items = [
                f"            {field.name!r}: {to_wire(conversions, field.type, f'self.{attr}')},"
                for field, attr in fields
            ]
            encode = [
                "        return " + codec + ".encode(",
                "            {",
                *wire_items,
                "            },",
                "            self,",
                "        )",
            ]
            build = "cls._from_wire"
            wire_reader = [
                "",
                "    @classmethod",
                "    def _from_wire(cls, data: _abc.Mapping[str, _t.Any]) -> _t.Self:",
                '        """A record from its fast-path form (logical fields as primitives)."""',
                "        return cls(",
                *(
                    f"            {attr}={from_wire(conversions, f.type, f'data[{f.name!r}]')},"
                    for f, attr in fields
                ),
                "        )",
            ]
        else:
            encode = [f"        return {codec}.encode(self.to_avro(), self)"]
            build = "cls.from_avro"
            wire_reader = []
        return [
            "",
            "    def to_avro_bytes(self) -> bytes:",
            '        """Schemaless Avro binary of this record, with this class\'s schema."""',
            *encode,
            *wire_reader,
            "",
            "    @classmethod",
            "    def from_avro_bytes(",
            "        cls, data: bytes, writer_schema: _abc.Mapping[str, _t.Any] | None = None",
            "    ) -> _t.Self:",
            '        """Read schemaless Avro binary, written with ``writer_schema`` if given."""',
            "        if writer_schema is None:",
            f"            return {build}({codec}.decode(data))",
            "        return cls.avro_decoder(writer_schema)(data)",
            "",
            "    @classmethod",
            "    def avro_decoder(",
            "        cls, writer_schema: _abc.Mapping[str, _t.Any] | None = None",
            "    ) -> _abc.Callable[[bytes], _t.Self]:",
            '        """A reader of bytes written with ``writer_schema`` (or this schema)."""',
            f"        resolve = {codec}.resolver(writer_schema)",
            "        if resolve is not None:",
            "            from_avro = cls.from_avro",
            "            return lambda data: from_avro(resolve(data))",
            f"        read, build = {codec}.decode, {build}",
            "        return lambda data: build(read(data))",
        ]

    def _from_avro_body(self, fields: list[tuple[Field, str]]) -> list[str]:
        required = [(f, a) for f, a in fields if not f.has_default]
        optional = [(f, a) for f, a in fields if f.has_default]
        args = [
            f"{attr}={self.conversions.from_avro(field.type, f'data[{field.name!r}]')}"
            for field, attr in required
        ]
        if not fields:
            return [
                "        _ = data  # a record without fields reads nothing",
                "        return cls()",
            ]
        if not optional:
            return ["        return cls(", *(f"            {arg}," for arg in args), "        )"]
        from_avro = self.conversions.from_avro
        lines = ["        kwargs: dict[str, _t.Any] = {"]
        lines += [
            f"            {attr!r}: {from_avro(field.type, f'data[{field.name!r}]')},"
            for field, attr in required
        ]
        lines.append("        }")
        # Absent (or MISSING, when a writer lacked the field): the class default applies.
        for field, attr in optional:
            lines += [
                f"        value = data.get({field.name!r}, _runtime.MISSING)",
                "        if value is not _runtime.MISSING:",
                f"            kwargs[{attr!r}] = {self.conversions.from_avro(field.type, 'value')}",
            ]
        lines.append("        return cls(**kwargs)")
        return lines

    # -- module ------------------------------------------------------------------------

    def module(self, header: str) -> str:
        parts = [self.enum_class(enum) for enum in self.enums]
        parts += [self.fixed_class(fixed) for fixed in self.fixed]
        parts += [self.record_class(view) for view in self.records]
        parts += [helper.source for helper in self.conversions.helpers.values()]
        codecs = [
            f"{view.codec_name} = _runtime.RecordCodec({json_literal(view.schema)}"
            + (f", {view.wire_fields!r})" if view.wire_fields else ")")
            for view in self.records
        ]
        body = "\n\n".join(parts)
        if codecs:
            body += "\n\n# Each schema is parsed once, when the module is imported.\n"
            body += "\n".join(codecs) + "\n"
        imports = [line for alias, line in STDLIB_ALIASES.items() if f"{alias}." in body]
        uses_runtime = "_runtime." in body
        head = [
            header,
            '"""Record and enum classes generated from Avro schemas; see the package docs."""',
            "",
            "from __future__ import annotations",
            "",
            *sorted(imports),
        ]
        if uses_runtime:
            head += ["", RUNTIME_IMPORT]
        return "\n".join(head) + "\n\n\n" + body


def personal_attributes(view: RecordView) -> tuple[str, ...]:
    """The attribute names of the record's fields tagged ``PII``, in field order."""
    pairs = zip(view.definition.fields, view.attributes, strict=True)
    return tuple(attribute for field, attribute in pairs if is_personal(field))


def _tuple_literal(items: tuple[str, ...]) -> str:
    return "(" + ", ".join(repr(item) for item in items) + ("," if len(items) == 1 else "") + ")"


def record_views(
    class_names: dict[str, str], records: list[RecordType], schemas: dict[str, dict[str, Any]]
) -> list[RecordView]:
    taken = set(class_names.values())
    views = []
    for record in records:
        name = class_names[record.full_name]
        attributes = tuple(attribute_names((f.name for f in record.fields), taken))
        schema = schemas[record.full_name]
        wire = tuple(wire_fields(record))
        views.append(RecordView(record, name, codec_constant(name), attributes, schema, wire))
    return views
