"""The stack's generated credentials, and how commands fall back to them."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from playball_core import local_stack
from playball_events.settings import ClientSecuritySettings, load_settings
from playball_stack.components.postgres import scram_verifier
from playball_stack.credentials import (
    UnsecuredHomeError,
    ensure_credentials,
    load_credentials,
)

KAFKA_VARIABLES = (
    "PLAYBALL_KAFKA_BOOTSTRAP",
    "PLAYBALL_KAFKA_SECURITY_PROTOCOL",
    "PLAYBALL_KAFKA_SASL_MECHANISM",
    "PLAYBALL_KAFKA_SASL_USERNAME",
    "PLAYBALL_KAFKA_SASL_PASSWORD",
    "PLAYBALL_KAFKA_SSL_CA_LOCATION",
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv(local_stack.HOME_VARIABLE, str(home))
    for name in KAFKA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    (home / "tls").mkdir(parents=True)
    (home / "tls" / "ca.pem").write_text("a CA (only its presence is checked here)\n")
    return home


def test_each_principal_gets_a_private_file_and_a_password_of_its_own(home: Path) -> None:
    credentials = ensure_credentials(home, "127.0.0.1:19092", 15432)
    directory = local_stack.credentials_directory(home)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = sorted(path.name for path in directory.iterdir())
    assert files == sorted(
        [
            ".passwords",
            *(f"{name}.env" for name in local_stack.KAFKA_CLIENT_PRINCIPALS),
            "playball.env",
            "playball_auth.env",
            "playball_auth_relay.env",
            "playball_groups.env",
            "playball_registry.env",
        ]
    )
    assert {stat.S_IMODE(path.stat().st_mode) for path in directory.iterdir()} == {0o600}
    assert len(set(credentials.secrets())) == len(credentials.secrets()) == 10
    relay = local_stack.read_credentials(home, local_stack.KAFKA_RELAY)
    assert relay is not None
    assert relay["PLAYBALL_KAFKA_SASL_USERNAME"] == "auth-relay"
    assert relay["PLAYBALL_KAFKA_SASL_PASSWORD"] == credentials.password("auth-relay")
    auth = local_stack.read_credentials(home, local_stack.POSTGRES_AUTH)
    assert auth == {
        "DATABASE_URL": "postgresql+psycopg://playball_auth:"
        f"{credentials.password('playball_auth')}@127.0.0.1:15432/playball_auth"
    }


def test_the_passwords_are_made_once_and_kept(home: Path) -> None:
    first = ensure_credentials(home, "127.0.0.1:19092", 15432)
    again = ensure_credentials(home, "127.0.0.1:29092", 15432)
    assert again.passwords == first.passwords
    assert load_credentials(home) == first
    relay = local_stack.read_credentials(home, local_stack.KAFKA_RELAY) or {}
    assert relay["PLAYBALL_KAFKA_BOOTSTRAP"] == "127.0.0.1:29092"  # addresses follow


def test_a_home_with_data_of_an_unsecured_stack_is_refused_untouched(tmp_path: Path) -> None:
    home = tmp_path / "old"
    (home / "kafka").mkdir(parents=True)
    (home / "kafka" / "cluster.id").write_text("abc\n")
    with pytest.raises(UnsecuredHomeError, match="playball stack reset --yes"):
        ensure_credentials(home, "127.0.0.1:19092", 15432)
    assert not local_stack.credentials_directory(home).exists()


def test_a_command_falls_back_to_the_admin_file_when_the_environment_names_nothing(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = ensure_credentials(home, "127.0.0.1:19092", None)
    settings = load_settings(ClientSecuritySettings)
    assert settings.kafka_security_protocol == "SASL_SSL"
    assert settings.kafka_sasl_username == local_stack.KAFKA_ADMIN
    assert settings.kafka_sasl_password is not None
    assert settings.kafka_sasl_password.get_secret_value() == credentials.password(
        local_stack.KAFKA_ADMIN
    )
    # the same address, given explicitly, still agrees with the file
    monkeypatch.setenv("PLAYBALL_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    assert load_settings(ClientSecuritySettings).kafka_sasl_username == local_stack.KAFKA_ADMIN


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PLAYBALL_KAFKA_BOOTSTRAP", "kafka.example:9093"),  # another cluster
        ("PLAYBALL_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),  # other credentials
    ],
)
def test_an_environment_that_disagrees_with_the_file_is_never_mixed_with_it(
    home: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    ensure_credentials(home, "127.0.0.1:19092", None)
    monkeypatch.setenv(variable, value)
    settings = load_settings(ClientSecuritySettings)
    assert settings.kafka_sasl_username is None
    assert settings.kafka_security_protocol == "PLAINTEXT"


def test_explicit_credentials_win_over_the_file(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_credentials(home, "127.0.0.1:19092", None)
    for name, value in (local_stack.read_credentials(home, local_stack.KAFKA_RELAY) or {}).items():
        monkeypatch.setenv(name, value)
    assert load_settings(ClientSecuritySettings).kafka_sasl_username == local_stack.KAFKA_RELAY


def test_the_scram_verifier_is_postgresqls_format() -> None:
    # that PostgreSQL accepts it is proven by every role logging in (tests/security)
    salt = bytes.fromhex("5b7e8a6d4c9e4b2f") * 2
    verifier = scram_verifier("pencil", salt)
    method, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    assert method == "SCRAM-SHA-256"
    assert iterations_salt.split(":")[0] == "4096"
    stored, server = keys.split(":")
    assert len(stored) == len(server) == 44  # base64 of 32 bytes
    assert scram_verifier("pencil", salt) == verifier  # deterministic for a given salt
    assert scram_verifier("pencil") != scram_verifier("pencil")  # a fresh salt each time


def _stack_env(home: Path, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "playball_cli", "stack", "env", *words],
        env={**os.environ, local_stack.HOME_VARIABLE: str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_stack_env_prints_a_principals_exports_for_a_shell(home: Path) -> None:
    credentials = ensure_credentials(home, "127.0.0.1:19092", 15432)
    result = _stack_env(home, "--principal", local_stack.KAFKA_CONSUMER)
    assert result.returncode == 0, result.stderr
    shell = subprocess.run(
        ["bash", "-c", f"{result.stdout}\nenv"], capture_output=True, text=True, check=True
    )
    exported = dict(line.split("=", 1) for line in shell.stdout.splitlines() if "=" in line)
    assert exported["PLAYBALL_KAFKA_SASL_USERNAME"] == local_stack.KAFKA_CONSUMER
    assert exported["PLAYBALL_KAFKA_SASL_PASSWORD"] == credentials.password("groups-consumer")
    default = _stack_env(home)
    assert "PLAYBALL_KAFKA_SASL_USERNAME=playball-admin" in default.stdout


@pytest.mark.parametrize("principal", ["nobody", "../credentials/.passwords"])
def test_stack_env_refuses_an_unknown_principal_listing_the_known_ones(
    home: Path, principal: str
) -> None:
    ensure_credentials(home, "127.0.0.1:19092", 15432)
    result = _stack_env(home, "--principal", principal)
    assert result.returncode == 2
    assert "choose from auth-relay, groups-consumer" in result.stderr
    assert result.stdout == ""
