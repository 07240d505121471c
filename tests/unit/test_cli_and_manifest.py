"""The workspace's glue: the composed CLI and the contracts manifest."""

from pathlib import Path

import pytest
from playball_cli.main import build_app
from playball_core.manifest import (
    CompatibilityLevel,
    ManifestError,
    load_manifest,
    topic_record_subject,
)
from support.paths import SCHEMA_DIR
from typer.testing import CliRunner


def test_playball_command_offers_every_packages_sub_commands() -> None:
    result = CliRunner().invoke(build_app(), ["--help"])
    assert result.exit_code == 0
    for sub_command in ("stack", "codegen", "schemas", "readers"):
        assert sub_command in result.output


def test_manifest_subjects_follow_the_topic_record_name_strategy() -> None:
    manifest = load_manifest(SCHEMA_DIR)
    assert {entry.record_full_name for entry in manifest.schemas} == {
        "playball.auth.v1.UserRegistered",
        "playball.auth.v1.UserUpdated",
        "playball.auth.v1.UserDeleted",
    }
    for entry in manifest.schemas:
        assert entry.subject == topic_record_subject(entry.topic, entry.record_full_name)
    # one topic keyed by user id keeps each user's events in order
    assert len({entry.topic for entry in manifest.schemas}) == 1
    assert {entry.compatibility for entry in manifest.schemas} == {
        CompatibilityLevel.FULL_TRANSITIVE
    }


ENTRY_A = "[[schema]]\nfile = 'A.avsc'\ntopic = 't'\nsubject = 't-A'\ncompatibility = 'FULL'\n"


def write_manifest(directory: Path, body: str) -> Path:
    (directory / "A.avsc").write_text('{"type": "record", "name": "A", "fields": []}')
    path = directory / "manifest.toml"
    path.write_text(body)
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            ENTRY_A.replace("'FULL'", "'SIDEWAYS'"),
            r"unknown compatibility 'SIDEWAYS' \(allowed: BACKWARD",
        ),
        (
            "[[schema]]\nfile = 'B.avsc'\ntopic = 't'\nsubject = 't-A'\ncompatibility = 'FULL'\n",
            r"schema file 'B.avsc' does not exist",
        ),
        (
            "[[schema]]\nfile = 'A.avsc'\nsubject = 't-A'\ncompatibility = 'FULL'\n",
            r"\[\[schema\]\] #1: 'topic' must be a non-empty string",
        ),
        (
            ENTRY_A * 2,
            r"subject 't-A' is listed twice",
        ),
        (
            "[[schema]]\nfile = 'A.avsc'\ntopic = 't'\nsubject = 'A'\ncompatibility = 'FULL'\n",
            r"subject 'A' does not follow the TopicRecordNameStrategy .* it is 't-A'",
        ),
        ("schema = [\n", r"invalid TOML"),
        ("", r"no \[\[schema\]\] entries"),
    ],
)
def test_bad_manifest_is_refused_naming_file_entry_and_reason(
    tmp_path: Path, body: str, message: str
) -> None:
    path = write_manifest(tmp_path, body)
    with pytest.raises(ManifestError, match=message) as refused:
        load_manifest(tmp_path)
    assert str(path) in str(refused.value)


def test_the_runtime_section_holds_the_reader_record_gated_and_generated_apart() -> None:
    manifest = load_manifest(SCHEMA_DIR)
    [reader] = manifest.runtime
    assert reader.subject == "_playball.readers-playball.runtime.v1.ReaderRecord"
    assert reader.topic == "_playball.readers"
    assert reader in manifest.gated and reader not in manifest.schemas
    assert manifest.runtime_codegen is not None
    assert manifest.runtime_codegen.package == "playball_events.runtime_records"
    assert manifest.codegen is not None
    assert manifest.codegen.package == "playball_events.contracts"


def test_a_runtime_subject_may_not_repeat_a_contract_subject(tmp_path: Path) -> None:
    body = ENTRY_A + ENTRY_A.replace("[[schema]]", "[[runtime.schema]]")
    path = write_manifest(tmp_path, body)
    with pytest.raises(ManifestError, match=r"\[\[runtime.schema\]\] #1: subject 't-A' is listed"):
        load_manifest(path)
