"""``playball auth``: migrate (creating the database), backfill, serve, and exit codes."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import playball_auth.adapters.migrations
import pytest
from alembic.script import ScriptDirectory
from playball_auth.settings import AuthSettings
from playball_cli.main import build_app
from playball_events.settings import with_database
from sqlalchemy import create_engine, inspect, text
from support.auth_backends import drop_database
from support.stack_env import free_port
from typer.testing import CliRunner

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(build_app(), ["auth", *args], env=env)
    return result.exit_code, result.output


def test_help_lists_the_commands() -> None:
    code, output = run("--help")
    assert code == 0
    for command in ("migrate", "serve", "outbox"):
        assert command in output
    code, output = run("outbox", "--help")
    assert code == 0
    assert "backfill" in output


def test_migrate_creates_a_sqlite_database_then_backfill(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'auth.db'}"
    env = {"PLAYBALL_AUTH_DATABASE_URL": url}
    assert run("migrate", env=env) == (0, "created and migrated the auth database\n")
    assert run("migrate", env=env) == (0, "migrated the auth database\n")
    engine = create_engine(url)
    try:
        assert {"users", "outbox"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert run("outbox", "backfill", env=env) == (0, "enqueued 0 UserRegistered event(s)\n")


MIGRATIONS = Path(playball_auth.adapters.migrations.__file__).parent


@pytest.mark.stack
def test_migrate_creates_the_postgres_database(database_url: str) -> None:
    name = f"playball_auth_t{uuid.uuid4().hex[:12]}"
    url = with_database(database_url, name)
    try:
        code, output = run("migrate", env={"PLAYBALL_AUTH_DATABASE_URL": url})
        assert (code, output) == (0, "created and migrated the auth database\n")
        assert run("migrate", env={"PLAYBALL_AUTH_DATABASE_URL": url})[0] == 0
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                applied = conn.scalar(text("SELECT version_num FROM alembic_version"))
            assert applied == ScriptDirectory(str(MIGRATIONS)).get_current_head()
        finally:
            engine.dispose()
    finally:
        drop_database(database_url, name)


@pytest.mark.stack
def test_the_default_database_is_playball_auth_on_the_runtime_server(database_url: str) -> None:
    settings = AuthSettings(database_url=database_url)
    assert settings.effective_database_url == with_database(database_url, "playball_auth")


def test_bad_settings_exit_2_naming_the_variable() -> None:
    code, output = run("migrate", env={"PLAYBALL_AUTH_TOKEN_TTL": "soon"})
    assert code == 2
    assert "PLAYBALL_AUTH_TOKEN_TTL" in output
    assert "Traceback" not in output


def test_an_unreachable_database_exits_3() -> None:
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/playball_auth"
    for args in (("migrate",), ("outbox", "backfill")):
        code, output = run(*args, env={"PLAYBALL_AUTH_DATABASE_URL": url})
        assert code == 3, output
        assert "secret" not in output  # the password is masked
        assert "127.0.0.1:1" in output


def test_serve_with_a_missing_configured_key_exits_2(tmp_path: Path) -> None:
    env = {
        "PLAYBALL_AUTH_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
        "PLAYBALL_AUTH_SIGNING_KEY": str(tmp_path / "missing.pem"),
    }
    assert run("migrate", env=env)[0] == 0
    code, output = run("serve", env=env)
    assert code == 2
    assert "PLAYBALL_AUTH_SIGNING_KEY" in output


def test_serve_refuses_an_unmigrated_or_unreachable_database(tmp_path: Path) -> None:
    code, output = run("serve", env={"PLAYBALL_AUTH_DATABASE_URL": f"sqlite:///{tmp_path}/a.db"})
    assert code == 2
    assert "playball auth migrate" in output
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/playball_auth"
    code, output = run("serve", env={"PLAYBALL_AUTH_DATABASE_URL": url})
    assert code == 3


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """``playball auth serve`` in its own process group on a free port; killed at the end."""
    port = free_port()
    env = {
        **os.environ,
        "PLAYBALL_AUTH_DATABASE_URL": f"sqlite:///{tmp_path / 'auth.db'}",
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    playball = str(Path(sys.executable).with_name("playball"))
    subprocess.run([playball, "auth", "migrate"], env=env, check=True, capture_output=True)
    process = subprocess.Popen(
        [playball, "auth", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the server did not become healthy in 60 s"
            time.sleep(0.1)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stderr:
            process.stderr.close()


def test_served_tokens_verify_like_the_groups_service_will(served: str, tmp_path: Path) -> None:
    """Over real HTTP: PyJWKClient fetches the JWKS, the issuer is the base URL."""
    created = httpx.post(
        f"{served}/users",
        json={
            "username": "walter",
            "email": "walter@example.org",
            "password": "correct horse",
            "display_name": "Walter",
        },
    )
    assert created.status_code == 201
    token = httpx.post(
        f"{served}/token", data={"username": "walter", "password": "correct horse"}
    ).json()["access_token"]
    signing_key = jwt.PyJWKClient(f"{served}/.well-known/jwks.json").get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token, signing_key.key, algorithms=["RS256"], audience="playball-groups", issuer=served
    )
    assert claims["sub"] == created.json()["id"]
    key_file = tmp_path / "data" / "playball" / "auth-signing-key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
