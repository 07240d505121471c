"""``playball auth``: migrate (creating the database), backfill, serve, the signing keys,
and exit codes."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
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
from support.auth_process import auth_served
from typer.testing import CliRunner

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(build_app(), ["auth", *args], env=env)
    return result.exit_code, result.output


def test_help_lists_the_commands() -> None:
    code, output = run("--help")
    assert code == 0
    for command in ("migrate", "serve", "outbox", "keys"):
        assert command in output
    code, output = run("outbox", "--help")
    assert code == 0
    assert "backfill" in output
    code, output = run("keys", "--help")
    assert code == 0
    assert "rotate" in output


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


def _keys_env(tmp_path: Path, keys: Path) -> dict[str, str]:
    env = {
        "PLAYBALL_AUTH_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
        "PLAYBALL_AUTH_SIGNING_KEYS": str(keys),
    }
    assert run("migrate", env=env)[0] == 0
    return env


def test_serve_with_a_missing_or_empty_configured_key_directory_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    code, output = run("serve", env=_keys_env(tmp_path, missing))
    assert code == 2
    assert "PLAYBALL_AUTH_SIGNING_KEYS" in output
    assert str(missing) in output
    assert not missing.exists()  # a configured directory is never made up
    empty = tmp_path / "empty"
    empty.mkdir(mode=0o700)
    code, output = run("serve", env=_keys_env(tmp_path, empty))
    assert code == 2
    assert "keys rotate" in output


@pytest.mark.parametrize(("target", "mode"), [("directory", 0o750), ("key", 0o644)])
def test_serve_and_rotate_refuse_keys_open_to_others_naming_them(
    tmp_path: Path, target: str, mode: int
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    env = _keys_env(tmp_path, keys)
    assert run("keys", "rotate", "--now", env=env)[0] == 0
    (pem,) = keys.glob("*.pem")
    path = keys if target == "directory" else pem
    path.chmod(mode)
    for command in (("serve",), ("keys", "rotate")):
        code, output = run(*command, env=env)
        assert code == 2, (command, output)
        assert str(path) in output
        assert "Traceback" not in output
    assert list(keys.glob("*.pem")) == [pem]  # rotate added nothing


def test_the_old_single_key_variable_is_refused(tmp_path: Path) -> None:
    env = {
        **_keys_env(tmp_path, tmp_path / "keys"),
        "PLAYBALL_AUTH_SIGNING_KEY": str(tmp_path / "key.pem"),
    }
    code, output = run("serve", env=env)
    assert code == 2
    assert "PLAYBALL_AUTH_SIGNING_KEYS" in output


def test_keys_rotate_publishes_the_next_key_ahead_of_signing(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    env = {"PLAYBALL_AUTH_SIGNING_KEYS": str(keys), "PLAYBALL_AUTH_KEY_PUBLISH_DELAY": "600"}
    code, output = run("keys", "rotate", "--now", env=env)
    assert code == 0, output
    (first,) = [pem.stem for pem in keys.glob("*.pem")]
    assert f"added signing key {first}" in output

    before = datetime.now(UTC).replace(microsecond=0)
    code, output = run("keys", "rotate", env=env)
    after = datetime.now(UTC)
    assert code == 0, output
    (second,) = {pem.stem for pem in keys.glob("*.pem")} - {first}
    signs_from = datetime.fromisoformat(
        json.loads((keys / f"{second}.json").read_text())["signs_from"]
    )
    assert before + timedelta(seconds=600) <= signs_from <= after + timedelta(seconds=600)
    assert f"added signing key {second}" in output
    assert {p.stat().st_mode & 0o777 for p in keys.iterdir()} == {0o600}


def test_serve_refuses_an_unmigrated_or_unreachable_database(tmp_path: Path) -> None:
    code, output = run("serve", env={"PLAYBALL_AUTH_DATABASE_URL": f"sqlite:///{tmp_path}/a.db"})
    assert code == 2
    assert "playball auth migrate" in output
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/playball_auth"
    code, output = run("serve", env={"PLAYBALL_AUTH_DATABASE_URL": url})
    assert code == 3


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """``playball auth serve`` with the development key directory under ``tmp_path``."""
    with auth_served(tmp_path / "auth.db", {"XDG_DATA_HOME": str(tmp_path / "data")}) as base:
        yield base


def test_served_tokens_verify_like_the_groups_service_will(served: str, tmp_path: Path) -> None:
    """Over real HTTP: PyJWKClient fetches the JWKS, the issuer is the base URL."""
    created = httpx.post(
        f"{served}/users",
        json={
            "username": "walter",
            "email": "walter@example.org",
            "password": "correct horse battery staple",
            "display_name": "Walter",
        },
    )
    assert created.status_code == 201
    token = httpx.post(
        f"{served}/token", data={"username": "walter", "password": "correct horse battery staple"}
    ).json()["access_token"]
    signing_key = jwt.PyJWKClient(f"{served}/.well-known/jwks.json").get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token, signing_key.key, algorithms=["RS256"], audience="playball-groups", issuer=served
    )
    assert claims["sub"] == created.json()["id"]
    keys = tmp_path / "data" / "playball" / "auth-signing-keys"
    assert keys.stat().st_mode & 0o777 == 0o700
    (key_file,) = keys.iterdir()
    assert key_file.name == f"{signing_key.key_id}.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_serve_takes_a_certificate_and_key_together_or_not_at_all(tmp_path: Path) -> None:
    pem = tmp_path / "server.pem"
    pem.write_text("not a certificate\n")
    code, output = run("serve", "--ssl-certfile", str(pem))
    assert code == 2
    assert "--ssl-certfile and --ssl-keyfile go together" in output
    code, output = run("serve", "--ssl-certfile", str(pem), "--ssl-keyfile", str(tmp_path / "no"))
    assert code == 2
    assert "--ssl-keyfile" in output
    code, output = run("serve", "--ssl-certfile", str(pem), "--ssl-keyfile", str(pem))
    assert code == 2
    assert "--ssl-certfile/--ssl-keyfile: unusable" in output


def test_an_https_server_is_its_own_https_issuer() -> None:
    settings = AuthSettings(auth_issuer=None)
    assert settings.issuer_for("127.0.0.1", 18180, tls=True) == "https://127.0.0.1:18180"
    assert settings.issuer_for("127.0.0.1", 18180) == "http://127.0.0.1:18180"
