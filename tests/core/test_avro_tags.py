"""Field tags in the core's schema model: ``"confluent:tags": ["PII"]`` marks personal data."""

import json
from pathlib import Path
from typing import Any

import pytest
from playball_core.avro.parser import parse_schema
from playball_core.avro.schema import RecordType, SourceRef
from playball_core.avro.tags import (
    is_personal,
    personal_field_names,
    without_annotations,
    without_tags,
)

REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def parsed(schema: Any) -> RecordType:
    root = parse_schema(json.dumps(schema), SourceRef("t.avsc")).root
    assert isinstance(root, RecordType)
    return root


def record(*fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "record", "name": "R", "fields": list(fields)}


def test_fields_carry_the_tags_of_every_tags_attribute_in_order_without_duplicates() -> None:
    root = parsed(
        record(
            {
                "name": "a",
                "type": "string",
                "confluent:tags": ["PII", "X"],
                "acme:tags": ["X", "Y"],
            },
            {"name": "b", "type": "string"},
            {"name": "c", "type": "string", "tags": ["PII"], ":tags": ["PII"]},  # no prefix
        )
    )
    assert [f.tags for f in root.fields] == [("PII", "X", "Y"), (), ()]
    assert [is_personal(f) for f in root.fields] == [True, False, False]


def test_a_tags_attribute_that_is_not_a_list_of_strings_is_ignored_with_a_warning() -> None:
    document = parse_schema(
        json.dumps(record({"name": "a", "type": "string", "confluent:tags": "PII"})),
        SourceRef("t.avsc"),
    )
    assert isinstance(document.root, RecordType)
    assert document.root.fields[0].tags == ()
    [warning] = document.warning_messages()
    assert warning.startswith("t.avsc:1:")
    assert "'confluent:tags' is not a list of strings; ignored" in warning


@pytest.mark.parametrize("name", ["UserRegistered", "UserUpdated"])
def test_the_user_schemas_tag_username_and_display_name(name: str) -> None:
    text = (REPO_SCHEMAS / f"{name}.avsc").read_text(encoding="utf-8")
    root = parse_schema(text, SourceRef(name)).root
    assert isinstance(root, RecordType)
    assert personal_field_names(root) == ("username", "display_name")
    assert personal_field_names(json.loads(text)) == ("username", "display_name")


def test_user_deleted_carries_no_personal_field_but_its_pseudonymous_id() -> None:
    text = (REPO_SCHEMAS / "UserDeleted.avsc").read_text(encoding="utf-8")
    assert personal_field_names(json.loads(text)) == ()
    assert "user_id" in {f["name"] for f in json.loads(text)["fields"]}


def test_without_annotations_drops_doc_and_tags_from_schema_positions_only() -> None:
    inner = {
        "type": "record",
        "name": "Inner",
        "doc": "inner doc",
        "fields": [{"name": "x", "type": "string", "doc": "x doc", "confluent:tags": ["PII"]}],
    }
    schema = {
        "type": "record",
        "name": "Outer",
        "doc": "outer doc",
        "fields": [
            {
                "name": "inner",
                "type": ["null", {"type": "array", "items": {"type": "map", "values": inner}}],
                "default": None,
                "doc": "d",
            },
            # a default is data: a key named "doc" in it stays
            {"name": "nested", "type": inner, "default": {"x": "doc"}, "confluent:tags": ["PII"]},
            {
                "name": "dict_default",
                "type": {"type": "map", "values": "string"},
                "default": {"doc": "kept", "a:tags": "kept"},
            },
        ],
    }
    stripped = without_annotations(schema)
    text = json.dumps(stripped)
    assert "outer doc" not in text
    assert "inner doc" not in text
    assert "x doc" not in text
    assert "confluent:tags" not in text
    assert stripped["fields"][2]["default"] == {"doc": "kept", "a:tags": "kept"}
    assert stripped["fields"][1]["default"] == {"x": "doc"}
    assert schema["doc"] == "outer doc"  # a copy: the input is unchanged
    only_tags = without_tags(schema)
    assert only_tags["doc"] == "outer doc"
    assert "confluent:tags" not in json.dumps(only_tags)
