"""Invalid input stops generation with file, JSON path and reason, and writes nothing."""

import json
from pathlib import Path
from typing import Any

import pytest
from playball_codegen.cli import app
from typer.testing import CliRunner


def _record(*fields: dict[str, Any], name: str = "R") -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "bad", "fields": list(fields)}


def _decimal(**params: Any) -> dict[str, Any]:
    return {"type": "bytes", "logicalType": "decimal", **params}


CASES: list[tuple[str, dict[str, Any], str, str, str]] = [
    # id, files (name -> JSON or raw text), failing file, JSON path, reason (substring)
    ("bad-json", {"A.avsc": '{"type": "record",'}, "A.avsc", "$", "invalid JSON"),
    (
        "unknown-type",
        {"A.avsc": _record({"name": "a", "type": "Nope"})},
        "A.avsc",
        "$.fields[0].type",
        "unknown type name 'Nope'",
    ),
    (
        "invalid-default",
        {"A.avsc": _record({"name": "n", "type": "int", "default": "seven"})},
        "A.avsc",
        "$.fields[0].default",
        "invalid default for field 'n': expected an int",
    ),
    (
        "int-default-out-of-range",
        {"A.avsc": _record({"name": "n", "type": "int", "default": 2**31})},
        "A.avsc",
        "$.fields[0].default",
        "expected an int (32-bit)",
    ),
    (
        "nested-record-default",
        {
            "A.avsc": _record(
                {
                    "name": "p",
                    "type": _record({"name": "y", "type": "int"}, name="P"),
                    "default": {},
                }
            )
        },
        "A.avsc",
        "$.fields[0].default",
        "missing field 'y'",
    ),
    (
        "union-default-not-first-branch",
        {"A.avsc": _record({"name": "u", "type": ["null", "string"], "default": "x"})},
        "A.avsc",
        "$.fields[0].default",
        "expected null",
    ),
    (
        "duplicate-field",
        {"A.avsc": _record({"name": "a", "type": "int"}, {"name": "a", "type": "string"})},
        "A.avsc",
        "$.fields[1].name",
        "duplicate field 'a'",
    ),
    (
        "decimal-scale-above-precision",
        {"A.avsc": _record({"name": "d", "type": _decimal(precision=2, scale=3)})},
        "A.avsc",
        "$.fields[0].type",
        "decimal scale must be between 0 and the precision",
    ),
    (
        "decimal-without-precision",
        {"A.avsc": _record({"name": "d", "type": _decimal()})},
        "A.avsc",
        "$.fields[0].type",
        "decimal needs 'precision'",
    ),
    (
        "decimal-too-big-for-fixed",
        {
            "A.avsc": _record(
                {
                    "name": "d",
                    "type": {
                        "type": "fixed",
                        "name": "F",
                        "size": 2,
                        "logicalType": "decimal",
                        "precision": 9,
                    },
                }
            )
        },
        "A.avsc",
        "$.fields[0].type",
        "does not fit a fixed of 2 bytes",
    ),
    (
        "logical-on-wrong-type",
        {
            "A.avsc": _record(
                {"name": "t", "type": {"type": "string", "logicalType": "timestamp-millis"}}
            )
        },
        "A.avsc",
        "$.fields[0].type",
        "needs type 'long', not 'string'",
    ),
    (
        "same-full-name-in-two-files",
        {
            "A.avsc": _record({"name": "a", "type": "int"}),
            "B.avsc": _record({"name": "b", "type": "int"}),
        },
        "B.avsc",
        "$",
        "name clash: 'bad.R' is already defined in A.avsc at $",
    ),
    (
        "class-name-clash",
        {
            "A.avsc": {"type": "record", "name": "Event", "namespace": "a", "fields": []},
            "B.avsc": {"type": "record", "name": "Event", "namespace": "b", "fields": []},
            "C.avsc": {"type": "record", "name": "AEvent", "fields": []},
        },
        "A.avsc",
        "$",
        "would both become class 'AEvent'",
    ),
    (
        "duplicate-union-branch",
        {"A.avsc": _record({"name": "u", "type": ["null", "string", "string"]})},
        "A.avsc",
        "$.fields[0].type[2]",
        "union has two branches of type 'string'",
    ),
    (
        "enum-default-not-a-symbol",
        {"A.avsc": {"type": "enum", "name": "E", "symbols": ["A"], "default": "B"}},
        "A.avsc",
        "$.default",
        "enum default 'B' is not a symbol",
    ),
    (
        "invalid-field-name",
        {"A.avsc": _record({"name": "a-b", "type": "int"})},
        "A.avsc",
        "$.fields[0].name",
        "invalid or missing field name: 'a-b'",
    ),
]


@pytest.mark.parametrize(
    ("files", "bad_file", "json_path", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_invalid_schema_is_reported_and_nothing_is_written(
    tmp_path: Path, files: dict[str, Any], bad_file: str, json_path: str, reason: str
) -> None:
    schema_dir = tmp_path / "schemas"
    schema_dir.mkdir()
    for name, content in files.items():
        text = content if isinstance(content, str) else json.dumps(content)
        (schema_dir / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out"

    result = CliRunner().invoke(
        app, ["generate", str(schema_dir), "--out", str(out), "--package", "pkg"]
    )

    assert result.exit_code == 2  # bad input
    assert f"{schema_dir / bad_file}: {json_path}: " in result.output
    assert reason in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
