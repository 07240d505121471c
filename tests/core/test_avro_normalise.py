"""normalise_writer: what Java ignores as an invalid logical type goes, the rest stays."""

import copy
import json
from typing import Any

import fastavro
import pytest
from playball_core.avro import normalise_writer

SCALE_ABOVE_PRECISION = {"type": "bytes", "logicalType": "decimal", "precision": 2, "scale": 3}
STRING_SCALE = {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": "2"}
VALID_DECIMAL = {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2}
TIMESTAMP = {"type": "long", "logicalType": "timestamp-micros"}


def record(*fields: tuple[str, Any], name: str = "R") -> dict[str, Any]:
    return {
        "type": "record",
        "name": name,
        "namespace": "n",
        "fields": [{"name": field, "type": type_} for field, type_ in fields],
    }


def field_types(schema: dict[str, Any]) -> list[Any]:
    return [field["type"] for field in schema["fields"]]


def test_an_invalid_decimal_loses_its_logical_type_precision_and_scale() -> None:
    schema = record(("a", SCALE_ABOVE_PRECISION), ("b", STRING_SCALE))
    assert field_types(normalise_writer(schema)) == [{"type": "bytes"}, {"type": "bytes"}]


def test_valid_and_unknown_logical_types_are_kept() -> None:
    unknown = {"type": "string", "logicalType": "iso-country"}
    schema = record(("a", VALID_DECIMAL), ("t", TIMESTAMP), ("c", unknown))
    assert normalise_writer(schema) == schema


def test_a_known_logical_type_on_the_wrong_type_goes() -> None:
    schema = record(("d", {"type": "string", "logicalType": "date"}))
    assert field_types(normalise_writer(schema)) == [{"type": "string"}]


def test_nested_records_unions_arrays_and_maps_are_walked() -> None:
    inner = record(("x", SCALE_ABOVE_PRECISION), ("ok", VALID_DECIMAL), name="Inner")
    schema = record(
        ("inner", inner),
        ("maybe", ["null", SCALE_ABOVE_PRECISION, TIMESTAMP]),
        ("list", {"type": "array", "items": SCALE_ABOVE_PRECISION}),
        ("map", {"type": "map", "values": {"type": "array", "items": ["null", STRING_SCALE]}}),
        ("err", {"type": "error", "name": "E", "fields": [{"name": "e", "type": STRING_SCALE}]}),
    )

    normalised = normalise_writer(schema)

    inner_type, maybe, array, map_, error = field_types(normalised)
    assert field_types(inner_type) == [{"type": "bytes"}, VALID_DECIMAL]
    assert maybe == ["null", {"type": "bytes"}, TIMESTAMP]
    assert array == {"type": "array", "items": {"type": "bytes"}}
    assert map_ == {
        "type": "map",
        "values": {"type": "array", "items": ["null", {"type": "bytes"}]},
    }
    assert field_types(error) == [{"type": "bytes"}]
    fastavro.parse_schema(normalised)  # what fastavro refused before


@pytest.mark.parametrize(
    ("fixed", "kept"),
    [
        ({"precision": 9}, False),  # a fixed of 2 bytes holds 4 digits
        ({"precision": 4, "scale": 5}, False),
        ({"precision": 4, "scale": 1}, True),
    ],
    ids=["precision-too-large", "scale-above-precision", "valid"],
)
def test_a_fixed_decimal_is_judged_by_what_its_size_holds(
    fixed: dict[str, Any], kept: bool
) -> None:
    money = {"type": "fixed", "name": "Money", "size": 2, "logicalType": "decimal", **fixed}
    (normalised,) = field_types(normalise_writer(record(("m", money))))
    if kept:
        assert normalised == money
    else:
        assert normalised == {"type": "fixed", "name": "Money", "size": 2}


def test_the_writer_schema_itself_is_not_changed() -> None:
    schema = record(("a", SCALE_ABOVE_PRECISION), ("u", ["null", STRING_SCALE]))
    before = copy.deepcopy(schema)
    normalised = normalise_writer(schema)
    assert schema == before
    normalised["fields"][1]["type"].append("int")
    assert schema == before  # no container shared with the input


def test_defaults_docs_and_other_attributes_stay() -> None:
    schema = record(("a", SCALE_ABOVE_PRECISION))
    schema["doc"] = "why"
    schema["fields"][0].update(default="\u0001", doc="field doc", aliases=["b"])
    normalised = normalise_writer(schema)
    assert normalised["doc"] == "why"
    assert normalised["fields"][0] == {
        "name": "a",
        "type": {"type": "bytes"},
        "default": "\u0001",
        "doc": "field doc",
        "aliases": ["b"],
    }
    json.dumps(normalised)  # still JSON
