"""The use cases on fakes of the ports: no database, no argon2, no JWT."""

import uuid

import pytest
from playball_auth.service_layer import handlers
from playball_auth.service_layer.errors import (
    ConcurrentUpdateError,
    EmailTakenError,
    InvalidCredentialsError,
    StaleUser,
    UnknownUserError,
    UsernameTakenError,
)
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
        handlers.delete_user(uow, missing)
    assert store.commits == 0


def test_backfill_of_no_users_enqueues_nothing() -> None:
    store = FakeStore()
    assert handlers.backfill_outbox(lambda: FakeUnitOfWork(store)) == 0
    assert store.outbox == []
