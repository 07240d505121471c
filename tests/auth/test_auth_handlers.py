"""The use cases on fakes of the ports: no database, no argon2, no JWT."""

import unicodedata
import uuid
from datetime import UTC, datetime

import pytest
from playball_auth.domain.model import User
from playball_auth.service_layer import handlers
from playball_auth.service_layer.credentials import Reauthenticated
from playball_auth.service_layer.errors import (
    ConcurrentUpdateError,
    EmailTakenError,
    InvalidCredentialsError,
    ReauthenticationRequiredError,
    StaleCredentialsError,
    StaleUser,
    UnknownUserError,
    UsernameTakenError,
)
from playball_auth.service_layer.ports import RefreshToken
from support.auth_fakes import FakePasswordHasher, FakeStore, FakeUnitOfWork


def _register(store: FakeStore, name: str = "alice", email: str | None = None) -> uuid.UUID:
    return handlers.register_user(
        lambda: FakeUnitOfWork(store),
        FakePasswordHasher(),
        username=name,
        email=email or f"{name}@example.org",
        password="correct horse",
        display_name=name,
    ).id


def test_registering_takes_username_regardless_of_case_and_email() -> None:
    store = FakeStore()
    _register(store)
    with pytest.raises(UsernameTakenError):
        _register(store, "ALICE", "other@example.org")
    with pytest.raises(EmailTakenError):
        _register(store, "bob", "ALICE@example.org")
    assert len(store.users) == 1


def test_unknown_user_and_wrong_password_cost_one_verify_each_and_look_alike() -> None:
    store = FakeStore()
    _register(store)
    hasher = FakePasswordHasher()
    errors = []
    for username, password in (("alice", "wrong one"), ("nobody", "wrong one"), ("a\x00", "x")):
        verified = hasher.verified
        with pytest.raises(InvalidCredentialsError) as caught:
            handlers.authenticate(
                lambda: FakeUnitOfWork(store), hasher, username=username, password=password
            )
        errors.append(str(caught.value))
        assert hasher.verified == verified + 1  # as much work as a wrong password
    assert len(set(errors)) == 1
    assert hasher.hashed == 1  # one dummy hash, made once and reused


def test_login_rehashes_when_the_parameters_changed() -> None:
    store = FakeStore()
    user_id = _register(store)
    assert store.users[user_id].password_hash == "fake$p1$correct horse"
    handlers.authenticate(
        lambda: FakeUnitOfWork(store),
        FakePasswordHasher("p2"),
        username="alice",
        password="correct horse",
    )
    assert store.users[user_id].password_hash == "fake$p2$correct horse"
    assert [type(e).__name__ for e in store.outbox] == ["UserRegistered"]


class FlakyUnitOfWork(FakeUnitOfWork):
    """Loses the race ``failures`` times: commit raises StaleUser as if another writer won."""

    def __init__(self, store: FakeStore, failures: list[int]) -> None:
        super().__init__(store)
        self.failures = failures

    def commit(self) -> None:
        if self.failures[0] > 0:
            self.failures[0] -= 1
            raise StaleUser("someone else saved first")
        super().commit()


def test_an_update_losing_a_race_is_retried_on_fresh_state() -> None:
    store = FakeStore()
    user_id = _register(store)
    failures = [handlers.UPDATE_ATTEMPTS - 1]
    updated = handlers.update_profile(
        lambda: FlakyUnitOfWork(store, failures),
        FakePasswordHasher(),
        user_id,
        handlers.ProfileChanges(display_name="Al"),
    )
    assert updated.version == 2
    assert [e.user_version for e in store.outbox] == [1, 2]


def test_an_update_that_keeps_losing_gives_up_with_a_conflict() -> None:
    store = FakeStore()
    user_id = _register(store)
    with pytest.raises(ConcurrentUpdateError):
        handlers.update_profile(
            lambda: FlakyUnitOfWork(store, [handlers.UPDATE_ATTEMPTS]),
            FakePasswordHasher(),
            user_id,
            handlers.ProfileChanges(display_name="Al"),
        )
    assert [e.user_version for e in store.outbox] == [1]


def test_changes_to_a_missing_user_are_unknown_user() -> None:
    store = FakeStore()
    missing = uuid.uuid4()
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    with pytest.raises(UnknownUserError):
        handlers.get_user(uow, missing)
    with pytest.raises(UnknownUserError):
        handlers.update_profile(uow, FakePasswordHasher(), missing, handlers.ProfileChanges())
    with pytest.raises(UnknownUserError):
        handlers.delete_user(uow, missing, reauthenticated=Reauthenticated(missing))
    assert store.commits == 0


def test_backfill_of_no_users_enqueues_nothing() -> None:
    store = FakeStore()
    assert handlers.backfill_outbox(lambda: FakeUnitOfWork(store)) == 0
    assert store.outbox == []


def test_registration_checks_the_name_and_email_before_hashing() -> None:
    """A taken name costs no argon2 hash (nor a hashing slot)."""
    store = FakeStore()
    _register(store)
    hasher = FakePasswordHasher()
    for name, email in (("ALICE", "other@example.org"), ("bob", "Alice@example.org")):
        with pytest.raises((UsernameTakenError, EmailTakenError)):
            handlers.register_user(
                lambda: FakeUnitOfWork(store),
                hasher,
                username=name,
                email=email,
                password="correct horse",
                display_name=name,
            )
    assert hasher.hashed == 0


FULL_WIDTH = "\uff43\uff4f\uff52\uff52\uff45\uff43\uff54 horse"  # "correct horse", full width
DECOMPOSED = "cafe\u0301 au lait"  # é as e + combining acute: NFKC composes it


def _login(store: FakeStore, hasher: FakePasswordHasher, password: str) -> None:
    handlers.authenticate(
        lambda: FakeUnitOfWork(store), hasher, username="alice", password=password
    )


def test_new_passwords_are_hashed_in_nfkc_form_and_either_form_logs_in() -> None:
    store = FakeStore()
    hasher = FakePasswordHasher()
    user_id = handlers.register_user(
        lambda: FakeUnitOfWork(store),
        hasher,
        username="alice",
        email="alice@example.org",
        password=FULL_WIDTH,
        display_name="Alice",
    ).id
    assert store.users[user_id].password_hash == "fake$p1$correct horse"
    _login(store, hasher, FULL_WIDTH)
    _login(store, hasher, "correct horse")


def _legacy_user(store: FakeStore, raw_password: str) -> uuid.UUID:
    """A user whose hash predates NFKC: of the password as typed."""
    user = User.register(
        username="alice",
        email="alice@example.org",
        password_hash=f"fake$p1${raw_password}",
        display_name="Alice",
        now=datetime.now(UTC),
    )
    with FakeUnitOfWork(store) as uow:
        uow.users.add(user)
        uow.commit()
    return user.id


def test_a_raw_form_hash_logs_in_and_is_rehashed_in_nfkc_form() -> None:
    store = FakeStore()
    user_id = _legacy_user(store, DECOMPOSED)
    hasher = FakePasswordHasher()
    _login(store, hasher, DECOMPOSED)
    nfkc = unicodedata.normalize("NFKC", DECOMPOSED)
    assert store.users[user_id].password_hash == f"fake$p1${nfkc}"
    assert store.users[user_id].credentials_version == 1  # the same password: tokens live on
    _login(store, hasher, DECOMPOSED)  # both forms keep working
    _login(store, hasher, nfkc)


def test_an_older_shorter_password_still_logs_in() -> None:
    store = FakeStore()
    _legacy_user(store, "eight ch")  # the old minimum: today's rules are not applied at login
    _login(store, FakePasswordHasher(), "eight ch")
    with pytest.raises(InvalidCredentialsError):
        _login(store, FakePasswordHasher(), "eight c")


def test_a_wrong_password_of_a_non_nfkc_text_costs_what_an_unknown_user_does() -> None:
    store = FakeStore()
    _register(store)
    hasher = FakePasswordHasher()
    for username in ("alice", "nobody"):
        verified = hasher.verified
        with pytest.raises(InvalidCredentialsError):
            _login_as(store, hasher, username, FULL_WIDTH + "!")
        assert hasher.verified == verified + 2  # NFKC form, then raw form


def _login_as(store: FakeStore, hasher: FakePasswordHasher, username: str, password: str) -> None:
    handlers.authenticate(
        lambda: FakeUnitOfWork(store), hasher, username=username, password=password
    )


@pytest.mark.parametrize(
    "changes",
    [handlers.ProfileChanges(email="new@example.org"), handlers.ProfileChanges(password="x" * 12)],
)
def test_email_and_password_changes_need_proof_of_the_current_password(
    changes: handlers.ProfileChanges,
) -> None:
    store = FakeStore()
    user_id, other = _register(store), _register(store, "bob")
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    hasher = FakePasswordHasher()
    for proof in (None, Reauthenticated(other)):
        with pytest.raises(ReauthenticationRequiredError):
            handlers.update_profile(uow, hasher, user_id, changes, reauthenticated=proof)
        with pytest.raises(ReauthenticationRequiredError):
            handlers.delete_user(uow, user_id, reauthenticated=proof)
    assert hasher.hashed == 0
    assert user_id in store.users
    handlers.update_profile(uow, hasher, user_id, changes, reauthenticated=Reauthenticated(user_id))


def _refresh_token(user_id: uuid.UUID) -> RefreshToken:
    now = datetime.now(UTC)
    return RefreshToken(uuid.uuid4(), uuid.uuid4().hex, uuid.uuid4(), user_id, now, now)


def test_a_password_change_bumps_the_credentials_version_and_revokes_refresh_tokens() -> None:
    store = FakeStore()
    user_id, other = _register(store), _register(store, "bob")
    with FakeUnitOfWork(store) as uow:
        for owner in (user_id, user_id, other):
            uow.refresh_tokens.add(_refresh_token(owner))
        uow.commit()
    uow_factory = lambda: FakeUnitOfWork(store)  # noqa: E731
    handlers.update_profile(
        uow_factory,
        FakePasswordHasher(),
        user_id,
        handlers.ProfileChanges(password="battery staple"),
        reauthenticated=Reauthenticated(user_id),
        credentials_version=1,
    )
    assert store.users[user_id].credentials_version == 2
    revoked = {t.user_id: t.revoked_at is not None for t in store.refresh_tokens.values()}
    assert revoked == {user_id: True, other: False}
    # the caller's token carried cv 1: stale now, for every use case behind a token
    with pytest.raises(StaleCredentialsError):
        handlers.get_user(uow_factory, user_id, credentials_version=1)
    assert handlers.get_user(uow_factory, user_id, credentials_version=2).id == user_id


def test_a_deletion_revokes_the_users_refresh_tokens() -> None:
    store = FakeStore()
    user_id = _register(store)
    with FakeUnitOfWork(store) as uow:
        uow.refresh_tokens.add(_refresh_token(user_id))
        uow.commit()
    handlers.delete_user(
        lambda: FakeUnitOfWork(store), user_id, reauthenticated=Reauthenticated(user_id)
    )
    assert all(t.revoked_at is not None for t in store.refresh_tokens.values())
