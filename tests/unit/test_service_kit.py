"""The service kit both services are built on: CLI scaffolding, database engines, the API's
error body and the unit-of-work base."""

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playball_core.exits import DependencyUnreachableError, ExitCode
from playball_events.outbox.commands import app as outbox_app
from playball_events.settings import RuntimeSettings
from playball_service_kit.api_errors import ApiError, install_error_handlers
from playball_service_kit.cli import command_group, fail, settings_or_exit
from playball_service_kit.database_sql import (
    DatabaseUnreachableError,
    check_reachable,
    create_database_if_missing,
    describe,
    is_reachable,
    make_engine,
)
from playball_service_kit.unit_of_work import UnitOfWork
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port bound by this test and never listened on: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# -- CLI ------------------------------------------------------------------------------------


class PortSettings(RuntimeSettings):
    http_port: int = 8000


def kit_cli() -> typer.Typer:
    app = command_group("probe")

    @app.command()
    def broken() -> None:
        fail("the thing, at 127.0.0.1:1: start it", ExitCode.UNREACHABLE)

    @app.command()
    def port() -> None:
        typer.echo(settings_or_exit(PortSettings).http_port)

    return app


def test_fail_prints_the_error_prefix_and_exits_with_the_code() -> None:
    result = runner.invoke(kit_cli(), ["broken"])
    assert result.exit_code == ExitCode.UNREACHABLE
    assert result.output == "error: the thing, at 127.0.0.1:1: start it\n"


def test_a_bad_setting_is_named_and_exits_2() -> None:
    result = runner.invoke(kit_cli(), ["port"], env={"PLAYBALL_HTTP_PORT": "eighty"})
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.output.startswith("error: invalid settings")
    assert "PLAYBALL_HTTP_PORT" in result.output
    assert runner.invoke(kit_cli(), ["port"], env={"PLAYBALL_HTTP_PORT": "81"}).output == "81\n"


def test_a_command_group_renders_plain_help() -> None:
    assert command_group("probe").rich_markup_mode is None


def test_the_relay_module_command_needs_a_database_url() -> None:
    result = runner.invoke(outbox_app, ["status"])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "error: --database-url" in result.output


# -- database -------------------------------------------------------------------------------


def test_a_plain_postgresql_url_means_psycopg() -> None:
    engine = make_engine("postgresql://playball:secret@127.0.0.1:1/x")
    try:
        assert engine.dialect.driver == "psycopg"
        assert "secret" not in describe(engine.url)
    finally:
        engine.dispose()


def test_an_unreachable_server_is_a_dependency_error_without_the_password(
    dead_port: int,
) -> None:
    url = f"postgresql+psycopg://nobody:secret@127.0.0.1:{dead_port}/playball_x"
    with pytest.raises(DatabaseUnreachableError) as created:
        create_database_if_missing(url)
    engine = make_engine(url)
    try:
        with pytest.raises(DatabaseUnreachableError) as checked:
            check_reachable(engine)
        assert not is_reachable(engine)
    finally:
        engine.dispose()
    for error in (created.value, checked.value):
        assert isinstance(error, DependencyUnreachableError)  # `playball` maps it to exit 3
        assert f"127.0.0.1:{dead_port}" in str(error)
        assert "secret" not in str(error)


def test_a_failed_statement_names_no_parameter_value(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (secret TEXT UNIQUE)")
            connection.exec_driver_sql("INSERT INTO t VALUES (?)", ("$argon2id$hash",))
            with pytest.raises(Exception, match="hidden due to hide_parameters") as failed:
                connection.exec_driver_sql("INSERT INTO t VALUES (?)", ("$argon2id$hash",))
        assert "$argon2id$hash" not in str(failed.value)
    finally:
        engine.dispose()


def test_a_sqlite_database_gets_its_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'x.db'}"
    assert create_database_if_missing(url)
    engine = make_engine(url)
    try:
        check_reachable(engine)
    finally:
        engine.dispose()
    assert not create_database_if_missing(url)


# -- API errors -----------------------------------------------------------------------------


def probe_api() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app, unparsable_body="malformed_body")

    @app.get("/things/{name}")
    def get_thing(name: str) -> dict[str, str]:
        raise ApiError(409, "taken", f"{name} is taken", {"Retry-After": "1"})

    @app.delete("/things/{name}")
    def delete_thing(name: str) -> None: ...

    return app


def test_errors_are_detail_and_code() -> None:
    client = TestClient(probe_api())
    taken = client.get("/things/a")
    assert (taken.status_code, taken.json()) == (409, {"detail": "a is taken", "code": "taken"})
    assert taken.headers["Retry-After"] == "1"
    missing = client.get("/nothing")
    assert (missing.status_code, missing.json()) == (
        404,
        {"detail": "Not Found", "code": "not_found"},
    )


def test_a_405_allows_every_method_of_the_path() -> None:
    answer = TestClient(probe_api()).put("/things/a")
    assert answer.status_code == 405
    assert answer.json()["code"] == "method_not_allowed"
    assert answer.headers["Allow"] == "DELETE, GET"


# -- unit of work ---------------------------------------------------------------------------


class RecordingUnitOfWork(UnitOfWork):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def commit(self) -> None:
        self.calls.append("commit")

    def rollback(self) -> None:
        self.calls.append("rollback")


def test_leaving_the_block_rolls_back_what_is_not_committed() -> None:
    uow = RecordingUnitOfWork()
    with uow:
        uow.commit()
    with pytest.raises(RuntimeError), uow:
        raise RuntimeError
    assert uow.calls == ["commit", "rollback", "rollback"]
