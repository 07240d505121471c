"""argon2id with the expected parameters, and rehashing when they change."""

import threading
import uuid

import pytest
from argon2 import PasswordHasher as Argon2
from argon2 import Type
from playball_auth.adapters.passwords_argon2 import Argon2PasswordHasher
from playball_auth.adapters.repository_sql import SqlUserRepository
from playball_auth.domain.model import User
from playball_auth.service_layer import handlers
from playball_auth.service_layer.credentials import Reauthenticated
from playball_auth.service_layer.errors import InvalidCredentialsError
from playball_auth.service_layer.ports import PasswordHasher
from playball_auth.settings import AuthSettings
from pydantic import ValidationError
from support.auth_backends import AuthBackend, SqlBackend
from support.auth_fakes import FakePasswordHasher
from support.lock_waits import wait_until_done_or_blocked


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


def register(backend: AuthBackend, hasher: PasswordHasher, name: str) -> handlers.UserSnapshot:
    """``name``, registered with the password "correct horse" hashed by ``hasher``."""
    return handlers.register_user(
        backend.uow_factory,
        hasher,
        username=name,
        email=f"{name}@example.org",
        password="correct horse",
        display_name=name.title(),
    )


@pytest.mark.parametrize("backend", ["fake", "sqlite"], indirect=True)
def test_login_rehashes_a_hash_made_with_older_parameters(backend: AuthBackend) -> None:
    old = Argon2PasswordHasher(Argon2(time_cost=1, memory_cost=1024, parallelism=1))
    user = register(backend, old, "rita")
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


@pytest.mark.stack
def test_a_password_change_during_a_login_rehash_is_not_overwritten(
    pg_backend: SqlBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A login with an outdated hash rehashes the password it verified. A password change
    that commits between the rehash's read and its write must win: the UPDATE's version
    check cannot catch it (a password change keeps the version), so the rehash locks the
    row. Here the change runs right after the rehash has read the user; it has to wait
    for the rehash's commit, then saves the new password."""
    older, current = FakePasswordHasher("p0"), FakePasswordHasher("p1")
    user = register(pg_backend, older, "sam")
    change = handlers.ProfileChanges(password="battery staple")
    changer = threading.Thread(
        target=handlers.update_profile,
        args=(pg_backend.uow_factory, current, user.id, change),
        kwargs={"reauthenticated": Reauthenticated(user.id)},
    )
    real_get = SqlUserRepository.get

    def read_then_let_the_change_run(
        self: SqlUserRepository, user_id: uuid.UUID, *, for_update: bool = False
    ) -> User | None:
        found = real_get(self, user_id, for_update=for_update)
        if threading.current_thread() is threading.main_thread() and not changer.is_alive():
            changer.start()  # the rehash has read the user; its write is still to come
            wait_until_done_or_blocked(changer, pg_backend.engine, what="the password change")
        return found

    monkeypatch.setattr(SqlUserRepository, "get", read_then_let_the_change_run)
    handlers.authenticate(pg_backend.uow_factory, current, username="sam", password="correct horse")
    changer.join(timeout=30)
    assert not changer.is_alive()

    stored = pg_backend.password_hash(user.id)
    assert current.verify(stored, "battery staple"), stored
    assert not current.verify(stored, "correct horse")
