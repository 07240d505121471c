"""Warnings beyond the registries: changes that resolve but change meaning."""

import json
from typing import Any

import pytest
from playball_core.avro.parser import parse_schema
from playball_core.avro.schema import SourceRef
from playball_core.manifest import CompatibilityLevel
from playball_schemagate.gate import compare
from playball_schemagate.rules import Rule
from playball_schemagate.schema_version import SchemaVersion

TS_MILLIS = {"type": "long", "logicalType": "timestamp-millis"}
TS_MICROS = {"type": "long", "logicalType": "timestamp-micros"}
DECIMAL = {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}


def version(schema: Any, label: str) -> SchemaVersion:
    return SchemaVersion(label, parse_schema(json.dumps(schema), SourceRef(label)))


def record(*fields: dict[str, Any], ns: str = "t", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": "R", "namespace": ns, "fields": list(fields), **extra}


def warnings(old: Any, new: Any) -> list[tuple[Rule, str]]:
    found = compare(version(new, "new"), [version(old, "old")], CompatibilityLevel.FULL)
    assert all(f.severity == "warning" for f in found), found
    return [(f.rule, f.path) for f in found]


@pytest.mark.parametrize(
    ("old_type", "new_type", "expected"),
    [
        (TS_MILLIS, TS_MICROS, [(Rule.LOGICAL_TYPE_CHANGED, "fields[t].type")]),
        ("long", TS_MICROS, [(Rule.LOGICAL_TYPE_CHANGED, "fields[t].type")]),
        (
            ["null", TS_MILLIS],
            ["null", TS_MICROS],
            [(Rule.LOGICAL_TYPE_CHANGED, "fields[t].type[1]")],
        ),
        (DECIMAL, {**DECIMAL, "scale": 3}, [(Rule.DECIMAL_SCALE_CHANGED, "fields[t].type")]),
        (
            DECIMAL,
            {**DECIMAL, "precision": 12},
            [(Rule.DECIMAL_PRECISION_CHANGED, "fields[t].type")],
        ),
        (TS_MICROS, TS_MICROS, []),
    ],
)
def test_logical_type_changes_on_the_same_physical_type(
    old_type: Any, new_type: Any, expected: list[tuple[Rule, str]]
) -> None:
    field = {"name": "t", "doc": "d"}
    assert warnings(record({**field, "type": old_type}), record({**field, "type": new_type})) == (
        expected
    )


def test_namespace_change_warns_unless_aliased() -> None:
    old = record({"name": "a", "type": "int"}, ns="t.v1")
    assert warnings(old, record({"name": "a", "type": "int"}, ns="t.v2")) == [
        (Rule.NAMESPACE_CHANGED, "name")
    ]
    aliased = record({"name": "a", "type": "int"}, ns="t.v2", aliases=["t.v1.R"])
    assert warnings(old, aliased) == []


def test_removing_an_enum_default_warns() -> None:
    def colour(**extra: Any) -> dict[str, Any]:
        return {"type": "enum", "name": "C", "symbols": ["A", "B"], **extra}

    old = record({"name": "c", "type": colour(default="A")})
    assert warnings(old, record({"name": "c", "type": colour()})) == [
        (Rule.ENUM_DEFAULT_REMOVED, "fields[c].type")
    ]


def test_new_fields_without_doc_warn_old_ones_do_not() -> None:
    old = record({"name": "a", "type": "int"})
    new = record(
        {"name": "a", "type": "int"},
        {"name": "b", "type": "int", "default": 0},
        {"name": "c", "type": "int", "default": 0, "doc": "documented"},
    )
    assert warnings(old, new) == [(Rule.FIELD_MISSING_DOC, "fields[b]")]


def test_a_first_version_needs_docs_on_every_field() -> None:
    first = version(
        record({"name": "a", "type": "int"}, {"name": "b", "type": "int", "doc": "x"}), "v1"
    )
    found = compare(first, [], CompatibilityLevel.FULL_TRANSITIVE)
    assert [(f.rule, f.path, f.old_version) for f in found] == [
        (Rule.FIELD_MISSING_DOC, "fields[a]", "(none)")
    ]
