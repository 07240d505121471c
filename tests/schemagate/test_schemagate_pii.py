"""The gate's personal-data findings: PII_TAG_REMOVED (an error), PII_UNCLASSIFIED (a warning)."""

import json
from pathlib import Path
from typing import Any

import pytest
from playball_core.avro.parser import parse_schema
from playball_core.avro.schema import SourceRef
from playball_core.manifest import CompatibilityLevel
from playball_schemagate.cli import app
from playball_schemagate.findings import Finding, Severity
from playball_schemagate.gate import compare
from playball_schemagate.rules import Rule
from playball_schemagate.schema_version import SchemaVersion
from typer.testing import CliRunner

PII = {"confluent:tags": ["PII"]}
NOT_PII = {"confluent:tags": ["NOT_PII"]}
ID = {"name": "id", "type": "long", "doc": "d"}


def version(schema: Any, label: str) -> SchemaVersion:
    return SchemaVersion(label, parse_schema(json.dumps(schema), SourceRef(label)))


def record(*fields: dict[str, Any], name: str = "R") -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "t", "fields": list(fields)}


def field(name: str, avro_type: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": avro_type, "doc": "d", **extra}


def pii_findings(old: Any, new: Any) -> list[Finding]:
    found = compare(version(new, "new"), [version(old, "old")], CompatibilityLevel.FULL)
    return [f for f in found if f.rule in {Rule.PII_TAG_REMOVED, Rule.PII_UNCLASSIFIED}]


def rules_and_paths(old: Any, new: Any) -> list[tuple[Rule, str]]:
    return [(f.rule, f.path) for f in pii_findings(old, new)]


# -- PII_TAG_REMOVED ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "new_tags",
    [{}, NOT_PII, {"confluent:tags": []}, {"confluent:tags": ["SENSITIVE"]}],
    ids=["untagged", "NOT_PII", "empty", "other-tag"],
)
def test_dropping_pii_from_a_field_is_an_error(new_tags: dict[str, Any]) -> None:
    old = record(ID, field("name", "string", **PII))
    new = record(ID, field("name", "string", **new_tags))
    [finding] = pii_findings(old, new)
    assert finding.rule is Rule.PII_TAG_REMOVED
    assert finding.severity is Severity.ERROR
    assert finding.path == "fields[name]"
    assert "'name' was tagged PII" in finding.message
    assert "remove the field instead" in finding.hint


@pytest.mark.parametrize(
    "new_tags",
    [PII, {"confluent:tags": ["PII", "SENSITIVE"]}, {"acme:tags": ["PII"]}],
    ids=["same", "more-tags", "other-prefix"],
)
def test_a_field_that_keeps_pii_under_any_tags_attribute_passes(new_tags: dict[str, Any]) -> None:
    old = record(ID, field("name", "string", **PII))
    assert pii_findings(old, record(ID, field("name", "string", **new_tags))) == []


def test_removing_a_tagged_field_altogether_is_not_dropping_its_tag() -> None:
    # its values stop being published: nothing personal is exposed by the change
    old = record(ID, field("name", ["null", "string"], default=None, **PII))
    assert pii_findings(old, record(ID)) == []


def test_the_tag_is_followed_into_nested_records_and_renamed_fields() -> None:
    inner_old = record(field("street", "string", **PII), name="Address")
    inner_new = record(field("street", "string"), name="Address")
    old = record(ID, field("address", ["null", inner_old], default=None))
    new = record(ID, field("address", ["null", inner_new], default=None))
    assert rules_and_paths(old, new) == [
        (Rule.PII_TAG_REMOVED, "fields[address].type[1].fields[street]")
    ]
    renamed = record(ID, field("full_name", "string", aliases=["name"]))
    assert rules_and_paths(record(ID, field("name", "string", **PII)), renamed) == [
        (Rule.PII_TAG_REMOVED, "fields[full_name]")
    ]


# -- PII_UNCLASSIFIED --------------------------------------------------------------------

FIXED = {"type": "fixed", "name": "Hash", "size": 4}
ENUM = {"type": "enum", "name": "Colour", "symbols": ["RED"]}


@pytest.mark.parametrize(
    ("avro_type", "flagged"),
    [
        ("string", True),
        ("bytes", True),
        (FIXED, True),
        ({"type": "string", "logicalType": "uuid"}, True),
        (["null", "string"], True),
        ({"type": "array", "items": "string"}, True),
        ({"type": "map", "values": ["null", "bytes"]}, True),
        ({"type": "array", "items": {"type": "map", "values": FIXED}}, True),
        ("long", False),
        (ENUM, False),
        ({"type": "map", "values": "int"}, False),  # map keys are strings, but not data
        (["null", "double"], False),
    ],
)
def test_a_new_field_that_holds_text_must_be_classified(avro_type: Any, flagged: bool) -> None:
    new_field = field("added", avro_type)
    if isinstance(avro_type, list):
        new_field["default"] = None  # a new field needs a default to stay compatible
    found = pii_findings(record(ID), record(ID, new_field))
    if not flagged:
        assert found == []
        return
    [finding] = found
    assert (finding.rule, finding.severity, finding.path) == (
        Rule.PII_UNCLASSIFIED,
        Severity.WARNING,
        "fields[added]",
    )
    assert "tagged neither PII nor NOT_PII" in finding.message
    for tags in (PII, NOT_PII):
        classified = {**new_field, **tags}
        assert pii_findings(record(ID), record(ID, classified)) == []


def test_only_new_fields_are_asked_for_a_classification() -> None:
    old = record(ID, field("name", "string"))
    assert pii_findings(old, record(ID, field("name", "string"))) == []


def test_a_new_record_is_classified_field_by_field() -> None:
    address = record(
        field("street", "string"),
        field("city", "string", **NOT_PII),
        field("no", "int"),
        name="Address",
    )
    new = record(ID, field("address", ["null", address], default=None))
    # the record-typed field itself is not flagged: its record's fields are, each one
    assert rules_and_paths(record(ID), new) == [
        (Rule.PII_UNCLASSIFIED, "fields[address].type[1].fields[street]")
    ]


def test_a_nested_records_new_string_field_counts() -> None:
    old_inner = record(field("city", "string"), name="Address")
    new_inner = record(
        field("city", "string"),
        field("street", ["null", "string"], default=None),
        name="Address",
    )
    in_array = {"type": "array", "items": new_inner}
    old = record(ID, field("addresses", {"type": "array", "items": old_inner}))
    assert rules_and_paths(old, record(ID, field("addresses", in_array))) == [
        (Rule.PII_UNCLASSIFIED, "fields[addresses].type.items.fields[street]")
    ]
    # a union gaining a record branch: that record's fields are new
    contact = record(field("phone", "string"), name="Contact")
    old_union = record(ID, field("reach", ["null", "long"], default=None))
    new_union = record(ID, field("reach", ["null", "long", contact], default=None))
    assert rules_and_paths(old_union, new_union) == [
        (Rule.PII_UNCLASSIFIED, "fields[reach].type[2].fields[phone]")
    ]


# -- through the CLI ---------------------------------------------------------------------

runner = CliRunner()


def write(path: Path, schema: Any) -> Path:
    path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    return path


def test_cli_pii_tag_removed_fails_and_points_at_the_field(tmp_path: Path) -> None:
    old = write(tmp_path / "v1.avsc", record(ID, field("name", "string", **PII)))
    new = write(tmp_path / "v2.avsc", record(ID, field("name", "string")))
    result = runner.invoke(app, ["compat", "--level", "FULL", str(old), str(new)])
    assert result.exit_code == 1, result.output
    assert "PII_TAG_REMOVED" in result.stdout
    # no reader breaks: a new major version is not the fix, keeping the tag is
    assert "intentional break?" not in result.stdout
    # where the field's object starts in v2.avsc: the fields list's second entry
    result = runner.invoke(app, ["compat", "--level", "FULL", "--github", str(old), str(new)])
    assert result.exit_code == 1
    [annotation] = [line for line in result.stdout.splitlines() if "PII_TAG_REMOVED" in line]
    assert annotation.startswith("::error ")
    assert f"file={new},line=11,col=5," in annotation


def test_cli_pii_unclassified_is_a_warning_that_strict_makes_fail(tmp_path: Path) -> None:
    old = write(tmp_path / "v1.avsc", record(ID))
    new = write(tmp_path / "v2.avsc", record(ID, field("nick", ["null", "string"], default=None)))
    plain = runner.invoke(app, ["compat", "--level", "FULL", "--json", str(old), str(new)])
    assert plain.exit_code == 0, plain.output
    [finding] = json.loads(plain.stdout)["subjects"][0]["findings"]
    assert (finding["rule"], finding["severity"]) == ("PII_UNCLASSIFIED", "warning")
    strict = runner.invoke(app, ["compat", "--level", "FULL", "--strict", str(old), str(new)])
    assert strict.exit_code == 1
    assert "PII_UNCLASSIFIED" in strict.stdout
