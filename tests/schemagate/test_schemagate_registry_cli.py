"""`register`, `status` and `check --registry` against the stack's registry."""

import json
import os
from pathlib import Path
from typing import Any

import pytest
from playball_core.manifest import CompatibilityLevel
from playball_core.registry import RegistryClient
from playball_schemagate.cli import app
from typer.testing import CliRunner

REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
USER_REGISTERED = (REPO_SCHEMAS / "UserRegistered.avsc").read_text(encoding="utf-8")
USER_DELETED = (REPO_SCHEMAS / "UserDeleted.avsc").read_text(encoding="utf-8")
EMAIL_LINE = (
    '    {"name": "email", "type": ["null", "string"], "default": null, '
    '"confluent:tags": ["PII"], '
    '"doc": "Contact address, if any."},\n'
)

runner = CliRunner()
pytestmark = pytest.mark.stack


def without_display_name(text: str) -> str:
    lines = [line for line in text.splitlines(keepends=True) if '"display_name"' not in line]
    lines[-3] = lines[-3].rstrip().rstrip(",") + "\n"
    return "".join(lines)


class Contracts:
    """A schemas directory with two subjects of its own on the shared registry."""

    def __init__(self, root: Path, prefix: str, registry_url: str) -> None:
        self.dir = root / "schemas"
        self.dir.mkdir()
        self.url = registry_url
        self.registered = f"{prefix}.users-playball.auth.v1.UserRegistered"
        self.deleted = f"{prefix}.users-playball.auth.v1.UserDeleted"
        entries = [
            ("UserRegistered.avsc", self.registered, "FULL_TRANSITIVE"),
            ("UserDeleted.avsc", self.deleted, "BACKWARD"),
        ]
        (self.dir / "manifest.toml").write_text(
            "\n".join(
                f'[[schema]]\nfile = "{file}"\ntopic = "{prefix}.users"\n'
                f'subject = "{subject}"\ncompatibility = "{level}"\n'
                for file, subject, level in entries
            ),
            encoding="utf-8",
        )
        self.write("UserRegistered.avsc", USER_REGISTERED)
        self.write("UserDeleted.avsc", USER_DELETED)

    def write(self, name: str, text: str) -> None:
        (self.dir / name).write_text(text, encoding="utf-8")

    def run(self, command: str, *args: str) -> Any:
        options = ["--schemas", str(self.dir), "--registry-url", self.url]
        return runner.invoke(app, [command, *options, *args])

    def versions(self, subject: str) -> list[int]:
        with RegistryClient(self.url) as client:
            return client.versions(subject)


@pytest.fixture
def contracts(
    tmp_path: Path, unique_name: str, registry_url: str, kafka_bootstrap: str
) -> Contracts:
    """``register`` ensures the manifest's topics on the stack's broker as well (the
    environment's ``PLAYBALL_KAFKA_BOOTSTRAP``): asking for ``kafka_bootstrap`` has
    ``unique_name`` delete them, and their ACLs, when the test ends."""
    assert os.environ.get("PLAYBALL_KAFKA_BOOTSTRAP", kafka_bootstrap) == kafka_bootstrap
    return Contracts(tmp_path, unique_name, registry_url)


def test_register_is_idempotent_and_sets_each_subjects_level(contracts: Contracts) -> None:
    first = contracts.run("register")
    assert first.exit_code == 0, first.output
    assert f"registered {contracts.registered} version 1 id" in first.stdout
    assert contracts.versions(contracts.registered) == [1]
    with RegistryClient(contracts.url) as client:
        assert client.level(contracts.registered) is CompatibilityLevel.FULL_TRANSITIVE
        assert client.level(contracts.deleted) is CompatibilityLevel.BACKWARD

    again = contracts.run("register", "--json")
    assert again.exit_code == 0, again.output
    registrations = json.loads(again.stdout)["registered"]
    assert {r["created"] for r in registrations} == {False}
    assert contracts.versions(contracts.registered) == [1]
    assert contracts.versions(contracts.deleted) == [1]


def test_register_updates_a_subject_configured_with_another_level(contracts: Contracts) -> None:
    assert contracts.run("register").exit_code == 0
    with RegistryClient(contracts.url) as client:
        client.set_level(contracts.registered, CompatibilityLevel.NONE)
        client.set_level(contracts.deleted, CompatibilityLevel.FORWARD_TRANSITIVE)
    status = {row["subject"]: row for row in json.loads(contracts.run("status", "--json").stdout)}
    assert status[contracts.registered]["registry_level"] == "NONE"
    drift = contracts.run("check", "--registry", "--json")
    notes = [n for s in json.loads(drift.stdout)["subjects"] for n in s["notes"]]
    assert any("the registry holds level NONE" in note for note in notes)
    # Nothing new to register: the levels are still brought back to the manifest's.
    again = contracts.run("register", "--json")
    assert again.exit_code == 0, again.output
    assert {r["created"] for r in json.loads(again.stdout)["registered"]} == {False}
    with RegistryClient(contracts.url) as client:
        assert client.level(contracts.registered) is CompatibilityLevel.FULL_TRANSITIVE
        assert client.level(contracts.deleted) is CompatibilityLevel.BACKWARD
    assert contracts.versions(contracts.registered) == [1]


def test_register_adds_a_compatible_version(contracts: Contracts) -> None:
    assert contracts.run("register").exit_code == 0
    anchor = '    {"name": "username"'
    contracts.write("UserRegistered.avsc", USER_REGISTERED.replace(anchor, EMAIL_LINE + anchor))
    result = contracts.run("register")
    assert result.exit_code == 0, result.output
    assert contracts.versions(contracts.registered) == [1, 2]
    assert f"unchanged  {contracts.deleted} version 1" in result.stdout


def test_register_refuses_an_incompatible_schema_and_registers_nothing(
    contracts: Contracts,
) -> None:
    assert contracts.run("register").exit_code == 0
    contracts.write("UserRegistered.avsc", without_display_name(USER_REGISTERED))
    # A compatible change to the other subject must not go in alone either.
    contracts.write("UserDeleted.avsc", USER_DELETED.replace("consumers", "all consumers"))
    result = contracts.run("register", "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["registered"] == []
    (failed,) = [s for s in payload["subjects"] if not s["passed"]]
    assert failed["subject"] == contracts.registered
    assert {f["rule"] for f in failed["findings"]} == {"READER_FIELD_MISSING_DEFAULT"}
    assert contracts.versions(contracts.registered) == [1]
    assert contracts.versions(contracts.deleted) == [1]
    human = contracts.run("register")
    assert human.exit_code == 1
    assert "READER_FIELD_MISSING_DEFAULT fields[display_name]" in human.stdout
    assert "nothing registered" in human.stdout
    assert contracts.versions(contracts.deleted) == [1]


def test_check_against_the_registry(contracts: Contracts) -> None:
    assert contracts.run("register").exit_code == 0
    contracts.write("UserRegistered.avsc", without_display_name(USER_REGISTERED))
    result = contracts.run("check", "--registry", "--json")
    assert result.exit_code == 1
    subjects = json.loads(result.stdout)["subjects"]
    from_registry = [s for s in subjects if s["baseline"].startswith("registry")]
    assert [s["subject"] for s in from_registry] == [contracts.registered, contracts.deleted]
    (finding,) = from_registry[0]["findings"]
    assert finding["rule"] == "READER_FIELD_MISSING_DEFAULT"
    assert finding["old_version"] == "v1"
    assert finding["counterpart"]["source"].startswith(f"registry {contracts.registered} v1")


def test_status_reports_hash_versions_level_and_verdict(contracts: Contracts) -> None:
    before = json.loads(contracts.run("status", "--json").stdout)
    assert [row["registered_as"] for row in before] == [None, None]
    assert contracts.run("register").exit_code == 0
    contracts.write("UserRegistered.avsc", without_display_name(USER_REGISTERED))
    result = contracts.run("status", "--json")
    assert result.exit_code == 0
    rows = {row["subject"]: row for row in json.loads(result.stdout)}
    changed, same = rows[contracts.registered], rows[contracts.deleted]
    assert changed["registered_as"] is None  # the local schema is not the registered one
    assert changed["latest"]["version"] == 1
    assert changed["compatible"] is False
    assert same["registered_as"]["version"] == 1
    assert same["compatible"] is True
    assert same["manifest_level"] == same["registry_level"] == "BACKWARD"
    assert len(changed["local_hash"]) == 12
    assert changed["local_hash"] != before[0]["local_hash"]
    table = contracts.run("status")
    assert table.exit_code == 0
    assert contracts.registered in table.stdout
    assert "NO (1 error(s))" in table.stdout


def test_an_invalid_schema_registers_nothing(contracts: Contracts) -> None:
    contracts.write("UserDeleted.avsc", USER_DELETED.replace('"long"', '"lnog"'))
    result = contracts.run("register")
    assert result.exit_code == 2
    assert "UserDeleted.avsc:" in result.stderr
    assert contracts.versions(contracts.registered) == []


def test_an_unreachable_registry_is_exit_3(tmp_path: Path, unique_name: str) -> None:
    contracts = Contracts(tmp_path, unique_name, "http://127.0.0.1:9/apis/ccompat/v7")
    for command in ("register", "status"):
        result = contracts.run(command)
        assert result.exit_code == 3
        assert "schema registry at http://127.0.0.1:9/apis/ccompat/v7 is unreachable" in (
            result.stderr
        )
    checked = contracts.run("check", "--registry")
    assert checked.exit_code == 3
    assert "schema registry at http://127.0.0.1:9/apis/ccompat/v7 is unreachable" in (
        checked.stderr
    )
    assert checked.stdout == ""  # no half report before the error
