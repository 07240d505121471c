"""One exit-code convention for every sub-command (README, "CLI conventions"):
0 ok, 1 the check failed, 2 bad input or configuration, 3 a dependency is unreachable;
a bad ``PLAYBALL_*`` value is named, never a traceback."""

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playball_cli.main import build_app
from playball_codegen.cli import app as codegen_app
from playball_core.exits import (
    ConfigurationError,
    DependencyUnreachableError,
    ExitCode,
    exit_code_for,
)
from playball_core.registry import RegistryUnreachableError
from playball_events.settings import RuntimeSettings, SettingsError, load_settings
from playball_schemagate.cli import app as gate_app
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port bound by this test and never listened on: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_error_kinds_map_to_their_codes() -> None:
    assert exit_code_for(ConfigurationError("x")) is ExitCode.BAD_INPUT
    assert exit_code_for(SettingsError("x")) is ExitCode.BAD_INPUT
    assert exit_code_for(DependencyUnreachableError("x")) is ExitCode.UNREACHABLE
    assert exit_code_for(RegistryUnreachableError("x")) is ExitCode.UNREACHABLE
    assert exit_code_for(RuntimeError("x")) is None
    assert [int(code) for code in ExitCode] == [0, 1, 2, 3]


def test_runtime_settings_name_the_bad_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    class PortSettings(RuntimeSettings):
        http_port: int = 8000

    monkeypatch.setenv("PLAYBALL_HTTP_PORT", "eighty")
    with pytest.raises(SettingsError, match=r"PLAYBALL_HTTP_PORT: Input should be a valid"):
        load_settings(PortSettings)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:s3cret@[::1",  # a bracket left open
        "postgresql+psycopg://u:s3cret@db:fivefour/x",  # a port that is no number
        "mysql://u:s3cret@db/x",  # another database
        "db.example/x",  # no scheme
    ],
)
@pytest.mark.parametrize(
    ("variable", "command"),
    [
        ("DATABASE_URL", ["auth", "migrate"]),
        ("PLAYBALL_AUTH_DATABASE_URL", ["auth", "serve"]),
        ("PLAYBALL_GROUPS_DATABASE_URL", ["groups", "migrate"]),
    ],
)
def test_a_database_url_that_is_none_is_named_never_quoted_and_exits_2(
    url: str, variable: str, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a traceback from the first connection: the setting is named, the value (it
    may hold a password) is not shown."""
    monkeypatch.setenv(variable, url)
    result = runner.invoke(build_app(), command)
    assert result.exit_code == 2, result.output
    assert f"{variable}: Value error, not a PostgreSQL or SQLite URL" in result.stderr
    assert "s3cret" not in result.output


# A sub-app that forgets to handle an error kind: the composed command still maps it.
FORGETFUL_SUB_APP = """
import sys
import typer
from playball_cli import main as cli
from playball_core.exits import ConfigurationError, DependencyUnreachableError

errors = {
    "config": ConfigurationError("PLAYBALL_THING: not a number"),
    "down": DependencyUnreachableError("broker at 127.0.0.1:1 did not answer"),
    "bug": RuntimeError("a bug"),
}
app = typer.Typer(rich_markup_mode=None)

@app.command()
def fail(kind: str) -> None:
    raise errors[kind]

cli.build_app = lambda: app
sys.argv = ["playball", sys.argv[1]]
cli.main()
"""


@pytest.mark.parametrize(
    ("kind", "code", "message"),
    [
        ("config", 2, "error: PLAYBALL_THING: not a number"),
        ("down", 3, "error: broker at 127.0.0.1:1 did not answer"),
    ],
)
def test_playball_turns_an_unhandled_error_kind_into_its_exit_code(
    kind: str, code: int, message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", FORGETFUL_SUB_APP, kind],
        capture_output=True,
        text=True,
        check=False,
        env={"TYPER_STANDARD_TRACEBACK": "1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_playball_leaves_a_bug_as_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-c", FORGETFUL_SUB_APP, "bug"],
        capture_output=True,
        text=True,
        check=False,
        env={"TYPER_STANDARD_TRACEBACK": "1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "RuntimeError: a bug" in result.stderr


# -- the gate -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["not a url", "ftp://127.0.0.1/x", "http://", "http://h:port/"])
@pytest.mark.parametrize("command", ["status", "register", "check --registry"])
def test_gate_names_a_bad_registry_variable_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, command: str, url: str
) -> None:
    monkeypatch.setenv("PLAYBALL_SCHEMA_REGISTRY_URL", url)
    result = runner.invoke(gate_app, command.split())
    assert result.exit_code == 2, result.output
    assert "error: PLAYBALL_SCHEMA_REGISTRY_URL:" in result.output
    assert repr(url) in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_gate_names_a_bad_registry_option_and_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYBALL_SCHEMA_REGISTRY_URL", "http://127.0.0.1:1/ok")
    result = runner.invoke(gate_app, ["status", "--registry-url", "127.0.0.1:8081"])
    assert result.exit_code == 2, result.output
    assert "error: --registry-url: not an http(s) URL" in result.output


def test_gate_with_an_unreachable_registry_variable_exits_3(
    monkeypatch: pytest.MonkeyPatch, dead_port: int
) -> None:
    monkeypatch.setenv("PLAYBALL_SCHEMA_REGISTRY_URL", f"http://127.0.0.1:{dead_port}/api")
    result = runner.invoke(gate_app, ["status"])
    assert result.exit_code == 3, result.output
    assert f"127.0.0.1:{dead_port}" in result.output


def test_gate_compat_bad_level_is_2_and_incompatible_is_1(tmp_path: Path) -> None:
    old = {"type": "record", "name": "A", "fields": [{"name": "a", "type": "int"}]}
    new = {"type": "record", "name": "A", "fields": [{"name": "b", "type": "int"}]}
    (tmp_path / "old.avsc").write_text(json.dumps(old))
    (tmp_path / "new.avsc").write_text(json.dumps(new))
    files = [str(tmp_path / "old.avsc"), str(tmp_path / "new.avsc")]
    assert runner.invoke(gate_app, ["compat", *files, "--level", "SIDEWAYS"]).exit_code == 2
    assert runner.invoke(gate_app, ["compat", *files, "--level", "FULL"]).exit_code == 1
    same = [files[0], files[0]]
    assert runner.invoke(gate_app, ["compat", *same, "--level", "FULL"]).exit_code == 0


# -- codegen --------------------------------------------------------------------------------


def test_codegen_invalid_schema_is_2(tmp_path: Path) -> None:
    (tmp_path / "Bad.avsc").write_text('{"type": "record", "name": "bad-name", "fields": []}')
    result = runner.invoke(
        codegen_app, ["generate", str(tmp_path), "--out", str(tmp_path / "o"), "--package", "p"]
    )
    assert result.exit_code == 2, result.output
    assert "error:" in result.output


def test_codegen_half_given_target_is_2(tmp_path: Path) -> None:
    result = runner.invoke(codegen_app, ["generate", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "give SCHEMA_DIR, --out and --package together" in result.output


@pytest.mark.parametrize(
    ("argv", "variable", "value"),
    [
        (["stack", "status"], "PLAYBALL_KAFKA_PORT", "abc"),
        (["schemas", "status"], "PLAYBALL_SCHEMA_REGISTRY_URL", "registry:8081"),
    ],
)
def test_the_installed_command_names_a_bad_variable_without_traceback(
    tmp_path: Path, argv: list[str], variable: str, value: str
) -> None:
    playball = Path(sys.executable).parent / "playball"
    env = {"PATH": "/usr/bin:/bin", "PLAYBALL_HOME": str(tmp_path / "home"), variable: value}
    result = subprocess.run(
        [str(playball), *argv], capture_output=True, text=True, check=False, env=env
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{variable}:" in result.stderr
    assert "Traceback" not in result.stderr
