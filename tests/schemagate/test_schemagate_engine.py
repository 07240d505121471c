"""The verdict engine and its findings: rule ids, paths, positions, directions, hints."""

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from playball_core.avro.parser import parse_schema
from playball_core.avro.schema import SourceRef
from playball_core.manifest import CompatibilityLevel
from playball_schemagate.compat import check_reader_writer
from playball_schemagate.findings import Direction, Finding, Severity
from playball_schemagate.gate import compare
from playball_schemagate.rules import RESOLUTION_RULES, Rule
from playball_schemagate.schema_version import SchemaVersion


def version(schema: Any, label: str) -> SchemaVersion:
    text = json.dumps(schema, indent=2)
    return SchemaVersion(label, parse_schema(text, SourceRef(f"{label}.avsc", f"{label}.avsc")))


def errors(old: Any, new: Any, level: str) -> list[Finding]:
    found = compare(version(new, "new"), [version(old, "old")], CompatibilityLevel(level))
    return [f for f in found if f.severity is Severity.ERROR]


def record(*fields: dict[str, Any], name: str = "R") -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "t", "fields": list(fields)}


def test_every_incompatibility_is_reported_not_only_the_first() -> None:
    old = record({"name": "a", "type": "int"}, {"name": "b", "type": "string"})
    new = record(
        {"name": "a", "type": "string"},
        {"name": "b", "type": "int"},
        {"name": "c", "type": "long"},
    )
    found = errors(old, new, "BACKWARD")
    assert [(f.rule, f.path) for f in found] == [
        (Rule.TYPE_MISMATCH, "fields[a].type"),
        (Rule.TYPE_MISMATCH, "fields[b].type"),
        (Rule.READER_FIELD_MISSING_DEFAULT, "fields[c]"),
    ]
    assert {f.direction for f in found} == {Direction.NEW_READS_OLD}
    assert {(f.old_version, f.new_version) for f in found} == {("old", "new")}


def test_a_new_field_without_default_points_at_the_field_in_the_new_file() -> None:
    old = record({"name": "a", "type": "int"})
    new = record({"name": "a", "type": "int"}, {"name": "email", "type": "string"})
    (finding,) = errors(old, new, "BACKWARD")
    assert finding.rule is Rule.READER_FIELD_MISSING_DEFAULT
    assert finding.hint == "give the new field 'email' a default"
    assert finding.location is not None
    assert finding.location.file == "new.avsc"
    # json.dumps(indent=2): "fields": [ is line 5, the second field's "{" line 10, column 5.
    assert str(finding.location.position) == "10:5"


def test_a_removed_field_points_at_the_new_fields_list_and_the_old_declaration() -> None:
    old = record({"name": "a", "type": "int"}, {"name": "gone", "type": "string"})
    new = record({"name": "a", "type": "int"})
    (finding,) = errors(old, new, "FORWARD")
    assert finding.rule is Rule.READER_FIELD_MISSING_DEFAULT
    assert finding.direction is Direction.OLD_READS_NEW
    assert finding.path == "fields[gone]"
    assert "keep field 'gone'" in finding.hint
    assert finding.location is not None
    assert finding.counterpart is not None
    assert str(finding.location) == "new.avsc:5:13"  # the "fields" list of the new record
    assert str(finding.counterpart) == "old.avsc:10:5"  # where "gone" was declared


def test_full_is_backward_plus_forward() -> None:
    old = record({"name": "a", "type": "int"}, {"name": "gone", "type": "string"})
    new = record({"name": "a", "type": "long"}, {"name": "added", "type": "string"})
    full = errors(old, new, "FULL")
    both = errors(old, new, "BACKWARD") + errors(old, new, "FORWARD")
    assert sorted((f.rule, f.path, f.direction) for f in full) == sorted(
        (f.rule, f.path, f.direction) for f in both
    )
    assert len(full) == 3  # added (backward), gone and long->int (forward)


def test_transitive_levels_compare_with_every_version_and_name_them() -> None:
    v1 = version(record({"name": "x", "type": "string"}), "v1")
    v2 = version(
        record({"name": "x", "type": "string"}, {"name": "y", "type": "int", "default": 0}), "v2"
    )
    v3 = version(record({"name": "x", "type": "string"}, {"name": "y", "type": "int"}), "v3")
    assert compare(v3, [v1, v2], CompatibilityLevel.BACKWARD) == []
    (finding,) = compare(v3, [v1, v2], CompatibilityLevel.BACKWARD_TRANSITIVE)
    assert (finding.old_version, finding.new_version) == ("v1", "v3")
    assert compare(v3, [v1, v2], CompatibilityLevel.NONE) == []


def test_faults_inside_a_union_branch_are_located_inside_it() -> None:
    inner_old = record({"name": "a", "type": "string"}, name="P")
    inner_new = record({"name": "a", "type": "string"}, {"name": "b", "type": "int"}, name="P")
    old = record({"name": "p", "type": ["null", inner_old], "default": None})
    new = record({"name": "p", "type": ["null", inner_new], "default": None})
    (finding,) = errors(old, new, "BACKWARD")
    assert finding.rule is Rule.READER_FIELD_MISSING_DEFAULT
    assert finding.path == "fields[p].type[1].fields[b]"


def test_a_union_without_a_matching_branch_is_a_missing_branch() -> None:
    old = record({"name": "u", "type": ["null", "string", "int"], "default": None})
    new = record({"name": "u", "type": ["null", "string"], "default": None})
    (finding,) = errors(old, new, "BACKWARD")
    assert finding.rule is Rule.MISSING_UNION_BRANCH
    assert finding.path == "fields[u].type[2]"
    assert finding.hint == "keep int in the union"


def test_enum_symbols_missing_are_listed_together() -> None:
    old = record({"name": "c", "type": {"type": "enum", "name": "C", "symbols": ["A", "B", "C"]}})
    new = record({"name": "c", "type": {"type": "enum", "name": "C", "symbols": ["A"]}})
    (finding,) = errors(old, new, "BACKWARD")
    assert finding.rule is Rule.MISSING_ENUM_SYMBOLS
    assert finding.path == "fields[c].type.symbols"
    assert "B, C" in finding.message


def test_rename_needs_an_alias_on_the_reader() -> None:
    old = record({"name": "a", "type": "int"}, name="Old")
    renamed = record({"name": "a", "type": "int"}, name="New")
    (finding,) = errors(old, renamed, "BACKWARD")
    assert finding.rule is Rule.NAME_MISMATCH
    assert finding.hint == "keep the name, or add the alias 't.Old' to the renamed type"
    aliased = {**renamed, "aliases": ["Old"]}
    assert errors(old, aliased, "BACKWARD") == []


def test_a_field_alias_matching_two_writer_fields_is_an_error_not_a_crash() -> None:
    old = record({"name": "a", "type": "int"}, {"name": "b", "type": "int"})
    new = record({"name": "a", "type": "int", "aliases": ["b"]})
    (finding,) = errors(old, new, "BACKWARD")
    assert finding.rule is Rule.AMBIGUOUS_FIELD_ALIAS


def test_recursive_types_terminate_and_report_each_fault_once() -> None:
    def node(value_type: str) -> dict[str, Any]:
        return record(
            {"name": "value", "type": value_type},
            {"name": "next", "type": ["null", "Node"], "default": None},
            name="Node",
        )

    assert errors(node("int"), node("long"), "BACKWARD") == []
    (finding,) = errors(node("int"), node("long"), "FORWARD")
    assert finding.path == "fields[value].type"


def test_the_reader_enum_default_quirk_of_java_is_kept() -> None:
    # Java compares the reader field's enum with the writer *record* when the field is
    # missing and only the enum has a default: never compatible. The registries agree.
    color = {"type": "enum", "name": "C", "symbols": ["A"], "default": "A"}
    (finding,) = errors(
        record({"name": "x", "type": "int"}),
        record({"name": "x", "type": "int"}, {"name": "c", "type": color}),
        "BACKWARD",
    )
    assert finding.rule is Rule.TYPE_MISMATCH


# -- properties --------------------------------------------------------------------------

PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]


def _schemas() -> st.SearchStrategy[Any]:
    leaves = (
        st.sampled_from(PRIMITIVES)
        | st.builds(
            lambda symbols: {"type": "enum", "name": "?", "symbols": symbols},
            st.lists(st.sampled_from(["A", "B", "C", "D"]), min_size=1, max_size=4, unique=True),
        )
        | st.builds(lambda size: {"type": "fixed", "name": "?", "size": size}, st.integers(0, 16))
    )

    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return (
            st.builds(lambda items: {"type": "array", "items": items}, children)
            | st.builds(lambda values: {"type": "map", "values": values}, children)
            | st.builds(
                lambda types: {
                    "type": "record",
                    "name": "?",
                    "fields": [{"name": f"f{i}", "type": t} for i, t in enumerate(types)],
                },
                st.lists(children, max_size=4),
            )
            | st.lists(st.sampled_from(PRIMITIVES), min_size=1, max_size=4, unique=True)
        )

    return st.recursive(leaves, extend, max_leaves=12)


def _named(schema: Any, counter: list[int]) -> Any:
    """Give every named type a unique name, so generated schemas are valid."""
    if isinstance(schema, dict):
        schema = {key: _named(value, counter) for key, value in schema.items()}
        if schema.get("name") == "?":
            counter[0] += 1
            schema["name"] = f"N{counter[0]}"
        return schema
    if isinstance(schema, list):
        return [_named(item, counter) for item in schema]
    return schema


@settings(max_examples=150, deadline=None)
@given(_schemas())
def test_a_schema_is_compatible_with_itself_at_every_level(raw: Any) -> None:
    schema = _named(raw, [0])
    old, new = version(schema, "old"), version(schema, "new")  # distinct objects, same text
    for level in CompatibilityLevel:
        found = compare(new, [old], level)
        assert [f for f in found if f.rule in RESOLUTION_RULES] == [], level


@settings(max_examples=100, deadline=None)
@given(_schemas())
def test_adding_a_field_with_a_default_is_fully_compatible(raw: Any) -> None:
    inner = _named(raw, [0])
    old = record({"name": "inner", "type": inner})
    new = record({"name": "inner", "type": inner}, {"name": "extra", "type": "int", "default": 0})
    assert errors(old, new, "FULL_TRANSITIVE") == []


@given(st.sampled_from(PRIMITIVES), st.sampled_from(PRIMITIVES))
def test_primitive_verdicts_follow_avro_promotions(writer: str, reader: str) -> None:
    promotions = {
        ("int", "long"), ("int", "float"), ("int", "double"), ("long", "float"),
        ("long", "double"), ("float", "double"), ("string", "bytes"), ("bytes", "string"),
    }  # fmt: skip
    source = SourceRef("p")
    result = check_reader_writer(
        parse_schema(json.dumps(reader), source).root, parse_schema(json.dumps(writer), source).root
    )
    assert result.compatible is (writer == reader or (writer, reader) in promotions)


# Avro's own TestSchemaCompatibility (COMPATIBLE_READER_WRITER_TEST_CASES): a reader reads
# every datum of an empty-union writer, since the writer has no branch to check.
EMPTY_UNION_READERS = [[], ["int"], ["long"], ["float"], ["string"], ["bytes"]]


@pytest.mark.parametrize("reader", EMPTY_UNION_READERS, ids=json.dumps)
def test_every_reader_reads_an_empty_union_writer_as_in_java(reader: list[str]) -> None:
    source = SourceRef("u.avsc")
    reader_root = parse_schema(json.dumps(reader), source).root
    writer_root = parse_schema("[]", source).root
    assert check_reader_writer(reader_root, writer_root).compatible


def test_an_empty_union_reader_cannot_read_a_non_empty_writer() -> None:
    source = SourceRef("u.avsc")
    result = check_reader_writer(
        parse_schema("[]", source).root, parse_schema('["int"]', source).root
    )
    assert [i.rule for i in result.incompatibilities] == [Rule.MISSING_UNION_BRANCH]
