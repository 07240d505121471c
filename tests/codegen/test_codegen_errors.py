"""Invalid input stops generation with file:line:col and reason (exit 2), and writes nothing.

The messages are the shared parser's, the same the gate gives (see test_avro_core_parity).
"""

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
    # id, files (name -> JSON or raw text), failing file, line:col, reason (substring)
    ("bad-json", {"A.avsc": '{"type": "record",'}, "A.avsc", "1:19", "invalid JSON"),
    (
        "unknown-type",
        {"A.avsc": _record({"name": "a", "type": "Nope"})},
        "A.avsc",
        "1:86",
        "undefined name 'Nope'",
    ),
    (
        "invalid-default",
        {"A.avsc": _record({"name": "n", "type": "int", "default": "seven"})},
        "A.avsc",
        "1:104",
        "invalid default for field 'n': 'seven' is not an int",
    ),
    (
        "int-default-out-of-range",
        {"A.avsc": _record({"name": "n", "type": "int", "default": 2**31})},
        "A.avsc",
        "1:104",
        "2147483648 is not an int",
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
        "1:192",
        "invalid default for field 'p': {} is not a record bad.P",
    ),
    (
        "duplicate-field",
        {"A.avsc": _record({"name": "a", "type": "int"}, {"name": "a", "type": "string"})},
        "A.avsc",
        "1:103",
        "duplicate field 'a' in 'bad.R'",
    ),
    (
        "same-full-name-in-two-files",
        {
            "A.avsc": _record({"name": "a", "type": "int"}),
            "B.avsc": _record({"name": "b", "type": "int"}),
        },
        "B.avsc",
        "1:28",
        "'bad.R' is defined twice (first in ",
    ),
    (
        "class-name-clash",
        {
            "A.avsc": {"type": "record", "name": "Event", "namespace": "a", "fields": []},
            "B.avsc": {"type": "record", "name": "Event", "namespace": "b", "fields": []},
            "C.avsc": {"type": "record", "name": "AEvent", "fields": []},
        },
        "A.avsc",
        "1:1",
        "would both become class 'AEvent'",
    ),
    (
        "duplicate-union-branch",
        {"A.avsc": _record({"name": "u", "type": ["null", "string", "string"]})},
        "A.avsc",
        "1:105",
        "duplicate 'string' in union",
    ),
    (
        "enum-default-not-a-symbol",
        {"A.avsc": {"type": "enum", "name": "E", "symbols": ["A"], "default": "B"}},
        "A.avsc",
        "1:60",
        "enum default 'B' is not a symbol",
    ),
    (
        "invalid-field-name",
        {"A.avsc": _record({"name": "a-b", "type": "int"})},
        "A.avsc",
        "1:73",
        "invalid field name 'a-b': illegal character '-' in 'a-b'",
    ),
]


@pytest.mark.parametrize(
    ("files", "bad_file", "position", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_invalid_schema_is_reported_and_nothing_is_written(
    tmp_path: Path, files: dict[str, Any], bad_file: str, position: str, reason: str
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
    assert f"{schema_dir / bad_file}:{position}: " in result.output
    assert reason in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_an_empty_union_field_is_refused_saying_why(tmp_path: Path) -> None:
    # Java accepts the schema (and so does the gate); no Python value fits the field.
    schema_dir = tmp_path / "schemas"
    schema_dir.mkdir()
    items = {"type": "array", "items": []}
    text = json.dumps(_record({"name": "ok", "type": "int"}, {"name": "never", "type": items}))
    (schema_dir / "A.avsc").write_text(text, encoding="utf-8")
    out = tmp_path / "out"

    result = CliRunner().invoke(
        app, ["generate", str(schema_dir), "--out", str(out), "--package", "pkg"]
    )

    assert result.exit_code == 2
    position = f"1:{text.index('[]', text.index('never')) + 1}"
    assert f"{schema_dir / 'A.avsc'}:{position}: an empty union has no value" in result.output
    assert "no Python type" in result.output
    assert not out.exists()
