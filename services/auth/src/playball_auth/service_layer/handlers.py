"""The use cases. Each runs in its own unit of work and returns plain snapshots.

None of them publishes anything: the user's methods record its contract events and
saving the user enqueues them (the SQL adapter refuses to save a contract change no
recorded event describes), so no code path can forget to.
"""

import contextlib
import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from playball_auth.domain import rules
from playball_auth.domain.model import User
from playball_auth.service_layer.errors import (
    ConcurrentUpdateError,
    EmailTakenError,
    InvalidCredentialsError,
    StaleUser,
    UniqueViolation,
    UnknownUserError,
    UsernameTakenError,
)
from playball_auth.service_layer.ports import PasswordHasher
from playball_auth.service_layer.unit_of_work import UnitOfWork

UowFactory = Callable[[], UnitOfWork]
T = TypeVar("T")

# Enough for a user updated from a few devices at once; beyond that the caller gets a
# 409 concurrent_update and decides whether to try again.
UPDATE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class UserSnapshot:
    """A user as the API shows it (no password hash), detached from any session."""

    id: uuid.UUID
    username: str
    email: str
    display_name: str
    version: int
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> "UserSnapshot":
        return cls(
            id=user.id,
            username=user.username,
            email=user.email,
            display_name=user.display_name,
            version=user.version,
            created_at=user.created_at,
        )


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """What PATCH /users/me may change; ``None`` leaves a field as it is."""

    display_name: str | None = None
    email: str | None = None
    password: str | None = None


def _taken(uow_factory: UowFactory, username: str | None, email: str | None) -> None:
    """Raise UsernameTakenError / EmailTakenError if either is in use (fresh transaction)."""
    with uow_factory() as uow:
        if username is not None and uow.users.get_by_username(username) is not None:
            raise UsernameTakenError(f"username {username!r} is taken")
        if email is not None and uow.users.get_by_email(email) is not None:
            raise EmailTakenError("email is already registered")


def register_user(
    uow_factory: UowFactory,
    passwords: PasswordHasher,
    *,
    username: str,
    email: str,
    password: str,
    display_name: str,
) -> UserSnapshot:
    user = User.register(
        username=username,
        email=email,
        password_hash=passwords.hash(password),
        display_name=display_name,
        now=datetime.now(UTC),
    )
    _taken(uow_factory, user.username, user.email)
    with uow_factory() as uow:
        uow.users.add(user)
        try:
            uow.commit()
        except UniqueViolation:
            # someone took the name between our check and our commit: say which
            _taken(uow_factory, user.username, user.email)
            raise UsernameTakenError(f"username {user.username!r} is taken") from None
        return UserSnapshot.of(user)


# argon2 is slow on purpose; an unknown username must cost the same as a wrong password
# (one verify), so response times do not reveal which usernames exist
_DUMMY_PASSWORD = "not-a-real-password"  # noqa: S105


@functools.lru_cache(maxsize=4)
def _dummy_hash(passwords: PasswordHasher) -> str:
    return passwords.hash(_DUMMY_PASSWORD)


def _plausible(username: str, password: str) -> bool:
    try:
        rules.check_username(username)
        password.encode("utf-8")
    except (rules.InvalidFieldError, UnicodeEncodeError):
        return False
    return True


def authenticate(
    uow_factory: UowFactory, passwords: PasswordHasher, *, username: str, password: str
) -> UserSnapshot:
    """The user whose credentials these are; rehashes a hash made with old parameters."""
    if not _plausible(username, password):
        # no such user can exist (and the database might refuse the text, NUL for one)
        passwords.verify(_dummy_hash(passwords), _DUMMY_PASSWORD)
        raise InvalidCredentialsError("wrong username or password")
    with uow_factory() as uow:
        user = uow.users.get_by_username(username)
        if user is None:
            passwords.verify(_dummy_hash(passwords), password)
            raise InvalidCredentialsError("wrong username or password")
        if not passwords.verify(user.password_hash, password):
            raise InvalidCredentialsError("wrong username or password")
        if passwords.needs_rehash(user.password_hash):
            user.rehash_password(passwords.hash(password))
            # changed meanwhile: keep the old hash, the next login rehashes
            with contextlib.suppress(StaleUser):
                uow.commit()
        return UserSnapshot.of(user)


def get_user(uow_factory: UowFactory, user_id: uuid.UUID) -> UserSnapshot:
    with uow_factory() as uow:
        user = uow.users.get(user_id)
        if user is None:
            raise UnknownUserError(str(user_id))
        return UserSnapshot.of(user)


def _retrying(attempt: Callable[[], T]) -> T:
    for _ in range(UPDATE_ATTEMPTS):
        try:
            return attempt()
        except StaleUser:
            continue
    raise ConcurrentUpdateError("the user was changed concurrently; try again")


def update_profile(
    uow_factory: UowFactory,
    passwords: PasswordHasher,
    user_id: uuid.UUID,
    changes: ProfileChanges,
) -> UserSnapshot:
    """Apply ``changes``; a concurrent change of the same user is retried on fresh state."""
    new_hash = passwords.hash(changes.password) if changes.password is not None else None

    def attempt() -> UserSnapshot:
        with uow_factory() as uow:
            user = uow.users.get(user_id)
            if user is None:
                raise UnknownUserError(str(user_id))
            if changes.display_name is not None:
                user.change_display_name(changes.display_name, datetime.now(UTC))
            if changes.email is not None:
                user.change_email(changes.email)
            if new_hash is not None:
                user.change_password(new_hash)
            try:
                uow.commit()
            except UniqueViolation:
                raise EmailTakenError("email is already registered") from None
            return UserSnapshot.of(user)

    return _retrying(attempt)


def delete_user(uow_factory: UowFactory, user_id: uuid.UUID) -> None:
    """Remove the account (a hard delete: no personal data stays behind)."""

    def attempt() -> None:
        with uow_factory() as uow:
            user = uow.users.get(user_id)
            if user is None:
                raise UnknownUserError(str(user_id))
            user.delete(datetime.now(UTC))
            uow.users.delete(user)
            uow.commit()

    _retrying(attempt)


BACKFILL_BATCH = 500


def backfill_outbox(uow_factory: UowFactory, batch_size: int = BACKFILL_BATCH) -> int:
    """Enqueue one UserRegistered per existing user, at its current version.

    UserRegistered because it carries the full public state and a consumer can apply it
    to a user it has never seen (UserUpdated would suppose a known user). Users are read
    in id order, a batch per transaction, each batch locked so its versions hold until the
    events are written. Returns how many events were enqueued.
    """
    total = 0
    after: uuid.UUID | None = None
    while True:
        with uow_factory() as uow:
            users = list(uow.users.page_after(after, batch_size))
            if not users:
                return total
            now = datetime.now(UTC)
            uow.outbox.add([user.registered_event(now) for user in users])
            uow.commit()
        total += len(users)
        after = users[-1].id
