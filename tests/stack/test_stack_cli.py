"""`playball stack` commands and their exit codes, on stacks whose components are external."""

from pathlib import Path

import pytest
from playball_stack.cli import app, stack_exit_code
from playball_stack.errors import (
    ChecksumError,
    ComponentFailedError,
    DependencyDownError,
    PortInUseError,
    StackError,
    ToolMissingError,
)
from playball_stack.stack import (
    HOME_MARKER,
)
from support.stack_env import (
    free_port,
)
from typer.testing import CliRunner


@pytest.fixture
def runner(external_env: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI whose registry and database are external; Kafka would live in a tmp home."""
    monkeypatch.delenv("PLAYBALL_KAFKA_BOOTSTRAP")
    monkeypatch.setenv("PLAYBALL_KAFKA_PORT", str(free_port()))
    return CliRunner()


def test_logs_of_an_unknown_component_exits_2_naming_the_choices(runner: CliRunner) -> None:
    result = runner.invoke(app, ["logs", "zookeeper"])
    assert result.exit_code == 2, result.output
    assert "'zookeeper' is not a component of this stack" in result.output
    assert "choose from kafka" in result.output


def test_logs_of_an_external_component_says_so(runner: CliRunner) -> None:
    result = runner.invoke(app, ["logs", "postgres"])
    assert result.exit_code == 2, result.output
    assert "'postgres' is external" in result.output


def test_logs_of_a_component_that_never_ran(runner: CliRunner, clean_env: Path) -> None:
    result = runner.invoke(app, ["logs", "kafka"])
    assert result.exit_code == 0, result.output
    assert "(no log at" in result.output
    assert not (clean_env / "kafka").exists()  # asking for logs creates nothing


def test_invalid_port_setting_is_reported_by_variable(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYBALL_REGISTRY_PORT", "99999")
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2, result.output
    assert "PLAYBALL_REGISTRY_PORT" in result.output
    assert "port 99999 is outside 1024-65535" in result.output
    assert "Traceback" not in result.output


@pytest.fixture
def all_external(external_env: Path) -> Path:
    clean_env = external_env
    precious = clean_env / "kafka" / "precious"
    precious.parent.mkdir(parents=True)
    precious.write_text("keep me")
    (clean_env / HOME_MARKER).touch()  # as `stack up` leaves it
    return precious


def test_reset_answered_no_deletes_nothing(all_external: Path) -> None:
    result = CliRunner().invoke(app, ["reset"], input="n\n")
    assert result.exit_code != 0, result.output
    assert "delete all stack data under" in result.output
    assert all_external.read_text() == "keep me"


def test_reset_yes_deletes_the_home(all_external: Path, clean_env: Path) -> None:
    result = CliRunner().invoke(app, ["reset", "--yes"])
    assert result.exit_code == 0, result.output
    assert not clean_env.exists()


def test_reset_refuses_a_directory_that_is_not_a_stack_home(
    all_external: Path, clean_env: Path
) -> None:
    # PLAYBALL_HOME pointed at the wrong place: nothing there may be deleted
    (clean_env / HOME_MARKER).unlink()
    result = CliRunner().invoke(app, ["reset", "--yes"])
    assert result.exit_code == 1
    assert "not a playball stack home" in " ".join(result.output.split())  # rich wraps lines
    assert all_external.read_text() == "keep me"


# -- exit codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (PortInUseError(19092, "kafka", None), 2),
        (ToolMissingError("no java"), 2),
        (DependencyDownError("PostgreSQL at db:5432 did not answer"), 3),
        (ComponentFailedError("kafka", "exited while starting", "boom"), 1),
        (ChecksumError("bad jar"), 1),
        (StackError("anything else"), 1),
    ],
)
def test_each_stack_failure_kind_has_its_exit_code(error: StackError, code: int) -> None:
    assert stack_exit_code(error) == code


def test_status_with_an_unhealthy_component_exits_1(external_env: Path) -> None:
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 1, result.output
    assert "postgres" in result.output


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PLAYBALL_KAFKA_PORT", "kafka"),
        ("PLAYBALL_POSTGRES_PORT", "80"),
        ("PLAYBALL_REGISTRY_PORT", "18081.5"),
    ],
)
@pytest.mark.parametrize("command", ["up", "down", "status", "logs", "reset --yes", "smoke"])
def test_every_command_names_a_bad_variable_and_exits_2(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, command: str, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(app, command.split())
    assert result.exit_code == 2, result.output
    assert f"{variable}:" in result.output
    assert not clean_env.exists()  # refused before touching anything
    assert result.exception is None or isinstance(result.exception, SystemExit)
