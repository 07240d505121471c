"""Parsing .avsc into the model: Java's name rules, validation, and errors with line:col."""

import json
from typing import Any

import pytest
from playball_core.avro.parser import SchemaParseError, parse_schema
from playball_core.avro.schema import (
    ArrayType,
    EnumType,
    Kind,
    RecordType,
    SchemaDocument,
    SourceRef,
    UnionType,
)

SOURCE = SourceRef(label="x.avsc", file="x.avsc")


def parse(schema: Any) -> SchemaDocument:
    return parse_schema(json.dumps(schema, indent=2), SOURCE)


def test_namespaces_are_inherited_and_references_resolve_to_the_same_object() -> None:
    document = parse(
        {
            "type": "record",
            "name": "User",
            "namespace": "a.b",
            "fields": [
                {"name": "home", "type": {"type": "record", "name": "Address", "fields": []}},
                {"name": "work", "type": "Address"},
                {"name": "other", "type": "a.b.Address"},
                {"name": "kind", "type": {"type": "enum", "name": "x.Kind", "symbols": ["A"]}},
            ],
        }
    )
    root = document.root
    assert isinstance(root, RecordType)
    home, work, other, kind = (field.type for field in root.fields)
    assert isinstance(home, RecordType)
    assert home.full_name == "a.b.Address"
    assert work is home
    assert other is home
    assert isinstance(kind, EnumType)
    assert kind.full_name == "x.Kind"


def test_a_recursive_record_refers_to_itself() -> None:
    document = parse(
        {
            "type": "record",
            "name": "Node",
            "fields": [{"name": "next", "type": ["null", "Node"], "default": None}],
        }
    )
    root = document.root
    assert isinstance(root, RecordType)
    next_type = root.fields[0].type
    assert isinstance(next_type, UnionType)
    assert next_type.branches[1] is root


def test_aliases_are_resolved_against_the_types_namespace() -> None:
    root = parse(
        {
            "type": "record",
            "name": "New",
            "namespace": "n",
            "aliases": ["Old", "other.Older"],
            "fields": [{"name": "f", "type": "int", "aliases": ["g"]}],
        }
    ).root
    assert isinstance(root, RecordType)
    assert root.aliases == frozenset({"n.Old", "other.Older"})
    assert root.fields[0].aliases == ("g",)


def test_defaults_logical_types_and_docs_are_kept() -> None:
    root = parse(
        {
            "type": "record",
            "name": "R",
            "fields": [
                {"name": "t", "type": {"type": "long", "logicalType": "timestamp-micros"}},
                {"name": "n", "type": ["null", "string"], "default": None, "doc": "maybe"},
                {"name": "xs", "type": {"type": "array", "items": "int"}, "default": [1]},
            ],
        }
    ).root
    assert isinstance(root, RecordType)
    t, n, xs = root.fields
    assert t.type.logical_type == "timestamp-micros"
    assert not t.has_default
    assert n.has_default
    assert n.default is None
    assert n.doc == "maybe"
    assert isinstance(xs.type, ArrayType)
    assert xs.type.items.kind is Kind.INT


def _field(type_: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": "R", "fields": [{"name": "f", "type": type_, **extra}]}


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "recrd", "name": "R"}, "undefined name 'recrd'"),
        ({"type": "record", "fields": []}, "record has no 'name'"),
        ({"type": "record", "name": "1R", "fields": []}, "invalid name '1R'"),
        ({"type": "record", "name": "R", "namespace": "a.-b", "fields": []}, "invalid name"),
        ({"type": "record", "name": "int", "fields": []}, "may not be called 'int'"),
        (_field("Missing"), "undefined name 'Missing'"),
        (_field("int", default="one"), "invalid default for field 'f'"),
        (_field("int", default=2**31), "invalid default for field 'f'"),
        (_field("long", default=1.5), "invalid default for field 'f'"),
        (_field("boolean", default=0), "invalid default for field 'f'"),
        (_field("string", default=None), "invalid default for field 'f'"),
        (_field(["null", "int"], default=[]), "invalid default for field 'f'"),
        (_field(["int", ["null"]]), "a union may not contain a union"),
        (_field(["int", "int"]), "duplicate 'int' in union"),
        (_field({"type": "enum", "name": "E", "symbols": ["A", "A"]}), "duplicate symbol 'A'"),
        (_field({"type": "enum", "name": "E", "symbols": ["A"], "default": "B"}), "not a symbol"),
        (_field({"type": "fixed", "name": "F"}), "non-negative integer 'size'"),
        (_field({"type": "array"}), "array has no 'items'"),
        (_field({"type": "map"}), "map has no 'values'"),
        (_field("int", order="up"), "invalid order"),
        (
            {"type": "record", "name": "R", "fields": [{"name": "a", "type": "R"}] * 2},
            "duplicate field 'a'",
        ),
        (
            {
                "type": "record",
                "name": "R",
                "fields": [
                    {"name": "a", "type": {"type": "fixed", "name": "F", "size": 1}},
                    {"name": "b", "type": {"type": "fixed", "name": "F", "size": 2}},
                ],
            },
            "'F' is defined twice",
        ),
        (42, "not a schema"),
    ],
)
def test_invalid_schemas_are_rejected_with_a_reason(schema: Any, message: str) -> None:
    with pytest.raises(SchemaParseError, match=r"^x\.avsc") as caught:
        parse(schema)
    assert message in str(caught.value)


def test_an_empty_union_is_a_schema_as_in_java() -> None:
    root = parse([]).root
    assert isinstance(root, UnionType)
    assert root.branches == ()
    field_type = parse(_field({"type": "array", "items": []})).root
    assert isinstance(field_type, RecordType)


def test_union_default_may_match_any_branch_as_in_avro_1_12() -> None:
    root = parse(_field(["null", "string"], default="x")).root
    assert isinstance(root, RecordType)
    assert root.fields[0].default == "x"


def test_errors_carry_the_line_and_column_of_the_offending_element() -> None:
    text = (
        '{\n  "type": "record",\n  "name": "R",\n  "fields": [\n'
        '    {"name": "f", "type": "Nope"}\n  ]\n}'
    )
    with pytest.raises(SchemaParseError) as caught:
        parse_schema(text, SOURCE)
    assert str(caught.value) == "x.avsc:5:27: undefined name 'Nope'"


def test_invalid_json_is_reported_with_its_position() -> None:
    with pytest.raises(SchemaParseError) as caught:
        parse_schema('{"type": "record",\n "name": }', SOURCE)
    assert str(caught.value).startswith("x.avsc:2:10: invalid JSON")
