"""docs/schema-evolution.md names the commands and options the CLI really has."""

import re
from pathlib import Path

import pytest
import typer
from playball_events.settings import RuntimeSettings as Settings
from playball_schemagate.cli import app
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

DOC = (Path(__file__).resolve().parents[2] / "docs" / "schema-evolution.md").read_text(
    encoding="utf-8"
)
COMMANDS = ("compat", "check", "register", "status")
OPTION = re.compile(r"(?<![\w-])--?[a-z][a-z-]*")


def cli_options(command: str) -> set[str]:
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    params = group.commands[command].params
    return {opt for p in params if isinstance(p, TyperOption) for opt in p.opts} - {"--help"}


def documented_options(command: str) -> set[str]:
    """The options column of the command's row in the reference table."""
    rows = [line for line in DOC.splitlines() if line.startswith(f"| `playball schemas {command}")]
    assert len(rows) == 1, f"one reference row for {command}"
    return set(OPTION.findall(rows[0].split("|")[2]))


@pytest.mark.parametrize("command", COMMANDS)
def test_the_reference_table_lists_exactly_the_clis_options(command: str) -> None:
    assert documented_options(command) == cli_options(command)
    help_text = CliRunner().invoke(app, [command, "--help"], terminal_width=200).stdout
    for option in cli_options(command):
        assert option in help_text


def test_every_command_line_in_the_doc_uses_existing_options() -> None:
    used = re.findall(r"playball schemas (\w+)([^`\n|#]*)", DOC)
    assert {command for command, _ in used} == set(COMMANDS)
    for command, rest in used:
        assert set(OPTION.findall(rest)) <= cli_options(command), (command, rest)


def test_the_registry_url_variable_is_the_one_settings_read() -> None:
    assert "PLAYBALL_SCHEMA_REGISTRY_URL" in DOC
    prefix = Settings.model_config.get("env_prefix")
    assert f"{prefix}SCHEMA_REGISTRY_URL" == "PLAYBALL_SCHEMA_REGISTRY_URL"
    assert "schema_registry_url" in Settings.model_fields
