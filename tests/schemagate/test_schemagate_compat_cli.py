"""`playball schemas compat` on plain files: the worked example, outputs and exit codes."""

import json
from pathlib import Path
from typing import Any

import pytest
from playball_schemagate.cli import app
from typer.testing import CliRunner

REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
ORIGINAL = (REPO_SCHEMAS / "UserRegistered.avsc").read_text(encoding="utf-8")
EMAIL_LINE = (
    '    {"name": "email", "type": ["null", "string"], "default": null, '
    '"confluent:tags": ["PII"], '
    '"doc": "Contact address, if the user gave one."},\n'
)

runner = CliRunner()


def position_of(text: str, needle: str, offset: int = 0) -> str:
    """``line:col`` of ``needle`` (plus ``offset`` characters) in ``text``."""
    index = text.index(needle) + offset
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{line}:{col}"


def with_email(text: str) -> str:
    """UserRegistered gaining an optional field with a default (and a doc)."""
    anchor = '    {"name": "username"'
    return text.replace(anchor, EMAIL_LINE + anchor)


def without_display_name(text: str) -> str:
    """UserRegistered losing display_name, a field without default."""
    lines = text.splitlines(keepends=True)
    kept = [line for line in lines if '"display_name"' not in line]
    kept[-3] = kept[-3].rstrip().rstrip(",") + "\n"  # the new last field: no trailing comma
    return "".join(kept)


@pytest.fixture
def history(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "v1": tmp_path / "v1.avsc",
        "v2": tmp_path / "v2.avsc",
        "v3": tmp_path / "v3.avsc",
    }
    paths["v1"].write_text(ORIGINAL, encoding="utf-8")
    paths["v2"].write_text(with_email(ORIGINAL), encoding="utf-8")
    paths["v3"].write_text(without_display_name(with_email(ORIGINAL)), encoding="utf-8")
    return paths


def run(*args: str | Path) -> Any:
    return runner.invoke(app, ["compat", *[str(a) for a in args]])


def test_worked_example_optional_field_with_default_passes_full_transitive(
    history: dict[str, Path],
) -> None:
    result = run("--level", "FULL_TRANSITIVE", history["v1"], history["v2"], "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["compatible"] is True
    assert report["subjects"][0]["findings"] == []


def test_worked_example_removing_a_field_without_default_fails(
    history: dict[str, Path],
) -> None:
    files = (history["v1"], history["v2"], history["v3"])
    result = run("--level", "FULL_TRANSITIVE", *files, "--json")
    assert result.exit_code == 1, result.output
    subject = json.loads(result.stdout)["subjects"][0]
    assert subject["passed"] is False
    findings = subject["findings"]
    # Old readers (v2 and v1 alike) have display_name without default: one finding each.
    assert [f["old_version"] for f in findings] == [str(history["v2"]), str(history["v1"])]
    new_text = history["v3"].read_text(encoding="utf-8")
    for finding, old in zip(findings, ("v2", "v1"), strict=True):
        assert finding["rule"] == "READER_FIELD_MISSING_DEFAULT"
        assert finding["path"] == "fields[display_name]"
        assert finding["direction"] == "old-readers-new-data"
        assert finding["new_version"] == str(history["v3"])
        assert finding["hint"].startswith("keep field 'display_name': old readers have no default")
        where = finding["location"]
        assert where["file"] == str(history["v3"])
        assert f"{where['line']}:{where['col']}" == position_of(new_text, '"fields": [', 10)
        old_text = history[old].read_text(encoding="utf-8")
        there = finding["counterpart"]
        expected = position_of(old_text, '{"name": "display_name"')
        assert f"{there['line']}:{there['col']}" == expected


def test_human_output_names_rule_path_place_direction_and_fix(history: dict[str, Path]) -> None:
    result = run("--level", "FORWARD", history["v2"], history["v3"])
    assert result.exit_code == 1
    text = result.stdout
    new_text = history["v3"].read_text(encoding="utf-8")
    assert "FAIL" in text
    assert "READER_FIELD_MISSING_DEFAULT fields[display_name]" in text
    where = position_of(new_text, '"fields": [', 10)
    assert f"{history['v3']}:{where}" in text
    assert "old readers vs new data (FORWARD: upgrade producers first)" in text
    assert "fix: keep field 'display_name'" in text
    assert "new major version" in text


def test_github_output_is_workflow_annotations(history: dict[str, Path]) -> None:
    result = run("--level", "FORWARD", history["v2"], history["v3"], "--github")
    assert result.exit_code == 1
    (annotation,) = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    new_text = history["v3"].read_text(encoding="utf-8")
    line, col = position_of(new_text, '"fields": [', 10).split(":")
    assert annotation.startswith(f"::error file={history['v3']},line={line},col={col},")
    assert "title=READER_FIELD_MISSING_DEFAULT fields[display_name]::" in annotation
    # How to make the change as an intentional break, where the run summary shows it.
    (advice,) = [line for line in result.stdout.splitlines() if line.startswith("::notice")]
    assert "new major version" in advice and "breaking-changes.toml" in advice


def test_backward_only_allows_removing_the_field(history: dict[str, Path]) -> None:
    assert run("--level", "BACKWARD", history["v2"], history["v3"]).exit_code == 0
    assert run("--level", "none", history["v2"], history["v3"]).exit_code == 0


def test_warnings_fail_only_with_strict(tmp_path: Path) -> None:
    old = tmp_path / "old.avsc"
    new = tmp_path / "new.avsc"
    old.write_text(ORIGINAL, encoding="utf-8")
    new.write_text(ORIGINAL.replace("timestamp-micros", "timestamp-millis", 1), encoding="utf-8")
    relaxed = run("--level", "FULL", old, new, "--json")
    assert relaxed.exit_code == 0
    (warning,) = json.loads(relaxed.stdout)["subjects"][0]["findings"]
    assert (warning["rule"], warning["severity"]) == ("LOGICAL_TYPE_CHANGED", "warning")
    assert warning["path"] == "fields[occurred_at].type"
    assert run("--level", "FULL", old, new, "--strict").exit_code == 1


def test_a_single_file_is_only_validated(history: dict[str, Path]) -> None:
    assert run("--level", "FULL", history["v1"]).exit_code == 0


def test_invalid_schema_is_exit_2_naming_file_and_position(tmp_path: Path) -> None:
    broken = tmp_path / "broken.avsc"
    broken.write_text(
        '{\n  "type": "record",\n  "name": "R",\n  "fields": [\n    {"name": "a"}\n  ]\n}'
    )
    result = run("--level", "BACKWARD", broken)
    assert result.exit_code == 2
    assert f"{broken}:5:5: field 'a' has no 'type'" in result.stderr


def test_an_empty_union_writer_is_readable_not_invalid(tmp_path: Path) -> None:
    # Java parses "[]" and its checker finds no writer branch to refuse: exit 0, not 2.
    writer, reader = tmp_path / "writer.avsc", tmp_path / "reader.avsc"
    writer.write_text("[]")
    reader.write_text('["string"]')
    result = run("--level", "BACKWARD", writer, reader)
    assert result.exit_code == 0, result.output
    assert run("--level", "FORWARD", writer, reader).exit_code == 1


def test_unknown_level_and_missing_file_are_exit_2(
    history: dict[str, Path], tmp_path: Path
) -> None:
    result = run("--level", "SIDEWAYS", history["v1"], history["v2"])
    assert result.exit_code == 2
    assert "unknown compatibility level 'SIDEWAYS'" in result.stderr
    missing = run("--level", "FULL", tmp_path / "nope.avsc")
    assert missing.exit_code == 2
    assert "nope.avsc: cannot read schema file" in missing.stderr
    assert run("--level", "FULL", history["v1"], "--json", "--github").exit_code == 2
