"""argon2id with the expected parameters, and rehashing when they change."""

import pytest
from argon2 import PasswordHasher as Argon2
from argon2 import Type
from playball_auth.adapters.passwords_argon2 import Argon2PasswordHasher
from playball_auth.service_layer import handlers
from playball_auth.service_layer.errors import InvalidCredentialsError
from playball_auth.settings import AuthSettings
from pydantic import ValidationError
from support.auth_backends import AuthBackend


def test_hashes_are_argon2id_with_rfc9106_parameters() -> None:
    hasher = Argon2PasswordHasher()
    stored = hasher.hash("correct horse")
    # argon2id, version 0x13, 64 MiB, 3 passes, 4 lanes; 16-byte salt, 32-byte hash
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    salt, digest = stored.split("$")[4:]
    assert len(salt) == 22  # 16 bytes, base64 without padding
    assert len(digest) == 43  # 32 bytes
    assert hasher.verify(stored, "correct horse")
    assert not hasher.verify(stored, "wrong horse")
    assert not hasher.verify("garbage", "correct horse")
    assert not hasher.needs_rehash(stored)
    assert hasher.needs_rehash("garbage")


def test_the_service_hashes_with_the_configured_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYBALL_AUTH_PASSWORD_MEMORY_KIB", "19456")
    monkeypatch.setenv("PLAYBALL_AUTH_PASSWORD_TIME_COST", "2")
    monkeypatch.setenv("PLAYBALL_AUTH_PASSWORD_PARALLELISM", "1")
    settings = AuthSettings()
    hasher = Argon2PasswordHasher.with_cost(
        memory_kib=settings.auth_password_memory_kib,
        time_cost=settings.auth_password_time_cost,
        parallelism=settings.auth_password_parallelism,
    )
    stored = hasher.hash("correct horse")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert hasher.verify(stored, "correct horse")
    # a hash made at the default cost is upgraded (or here: moved) at the next login
    assert hasher.needs_rehash(Argon2PasswordHasher().hash("correct horse"))


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PLAYBALL_AUTH_PASSWORD_MEMORY_KIB", "19455"),  # under OWASP's minimum
        ("PLAYBALL_AUTH_PASSWORD_TIME_COST", "1"),
        ("PLAYBALL_AUTH_PASSWORD_PARALLELISM", "0"),
    ],
)
def test_a_password_cost_below_the_floor_is_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=variable.removeprefix("PLAYBALL_").lower()):
        AuthSettings()


def test_only_argon2id_is_accepted() -> None:
    with pytest.raises(ValueError, match="argon2id"):
        Argon2PasswordHasher(Argon2(type=Type.I))


@pytest.mark.parametrize("backend", ["fake", "sqlite"], indirect=True)
def test_login_rehashes_a_hash_made_with_older_parameters(backend: AuthBackend) -> None:
    old = Argon2PasswordHasher(Argon2(time_cost=1, memory_cost=1024, parallelism=1))
    user = handlers.register_user(
        backend.uow_factory,
        old,
        username="rita",
        email="rita@example.org",
        password="correct horse",
        display_name="Rita",
    )
    assert backend.password_hash(user.id).startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    events_before = backend.outbox_rows(user.id)

    current = Argon2PasswordHasher()
    with pytest.raises(InvalidCredentialsError):
        handlers.authenticate(backend.uow_factory, current, username="rita", password="wrong horse")
    assert backend.password_hash(user.id).startswith("$argon2id$v=19$m=1024,t=1,p=1$")

    handlers.authenticate(backend.uow_factory, current, username="rita", password="correct horse")
    rehashed = backend.password_hash(user.id)
    assert rehashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert current.verify(rehashed, "correct horse")
    # a new hash is no contract change: no event, no new version
    assert backend.outbox_rows(user.id) == events_before
