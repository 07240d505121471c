"""The catalog's small views: type descriptions, field diffs, producers from topic names."""

import json

from playball_catalog.diff import field_diff
from playball_catalog.fields import FieldView, field_views
from playball_catalog.producers import owner_service
from playball_core.avro.parser import parse_schema
from playball_core.avro.schema import SourceRef


def fields_of(*fields: dict[str, object]) -> tuple[FieldView, ...]:
    schema = {"type": "record", "name": "R", "namespace": "t", "fields": list(fields)}
    return field_views(parse_schema(json.dumps(schema), SourceRef(label="t")).root)


def test_types_read_as_a_person_writes_them() -> None:
    views = fields_of(
        {"name": "a", "type": ["null", {"type": "string", "logicalType": "uuid"}], "default": None},
        {"name": "b", "type": {"type": "array", "items": "long"}},
        {"name": "c", "type": {"type": "map", "values": "double"}},
        {"name": "d", "type": {"type": "enum", "name": "E", "symbols": ["X", "Y"]}},
        {"name": "e", "type": {"type": "fixed", "name": "F", "size": 16}},
    )
    assert [(v.name, v.type, v.default) for v in views] == [
        ("a", "null | string (uuid)", "null"),
        ("b", "array<long>", None),
        ("c", "map<double>", None),
        ("d", "enum E {X, Y}", None),
        ("e", "fixed F[16]", None),
    ]


def test_the_diff_names_added_removed_and_changed_fields() -> None:
    before = field_views(
        parse_schema(
            json.dumps(
                {
                    "type": "record",
                    "name": "R",
                    "fields": [
                        {"name": "keep", "type": "int"},
                        {"name": "gone", "type": "string"},
                    ],
                }
            ),
            SourceRef(label="1"),
        ).root
    )
    after = field_views(
        parse_schema(
            json.dumps(
                {
                    "type": "record",
                    "name": "R",
                    "fields": [
                        {"name": "keep", "type": "long", "doc": "now long"},
                        {
                            "name": "new",
                            "type": "string",
                            "default": "x",
                            "confluent:tags": ["PII"],
                        },
                    ],
                }
            ),
            SourceRef(label="2"),
        ).root
    )
    changes = [(c.kind, c.field, c.detail) for c in field_diff(before, after)]
    assert changes == [
        ("changed", "keep", "type: int -> long; doc: none -> now long"),
        ("added", "new", 'string, default "x"'),
        ("removed", "gone", "string, no default"),
    ]
    assert [v.name for v in after if v.personal] == ["new"]


def test_a_topic_names_its_owner() -> None:
    assert owner_service("playball.auth.user-events.v1") == "auth"
    assert owner_service("_playball.readers") is None
    assert owner_service("t1234") is None
