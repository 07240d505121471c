"""The users' use cases: registration, checking credentials, the account's changes and
deletion, the outbox backfill. Each runs in its own unit of work and returns plain
snapshots. (Throttled logins and re-authentication are :mod:`.login`'s; the token
endpoint's grants are :mod:`.grants`'.)

None of them publishes anything: the user's methods record its contract events and
saving the user enqueues them (the SQL adapter refuses to save a contract change no
recorded event describes), so no code path can forget to.
"""

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from playball_auth.domain import rules
from playball_auth.domain.model import User
from playball_auth.service_layer import credentials
from playball_auth.service_layer.credentials import Reauthenticated
from playball_auth.service_layer.errors import (
    ConcurrentUpdateError,
    EmailTakenError,
    HashingBusyError,
    InvalidCredentialsError,
    ReauthenticationRequiredError,
    StaleCredentialsError,
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
# one message for an unknown user and a wrong password: neither is revealed
WRONG_CREDENTIALS = "wrong username or password"


@dataclass(frozen=True, slots=True)
class UserSnapshot:
    """A user as the API shows it (no password hash), detached from any session."""

    id: uuid.UUID
    username: str
    email: str
    display_name: str
    version: int
    created_at: datetime
    credentials_version: int  # what the user's access tokens carry as ``cv``

    @classmethod
    def of(cls, user: User) -> "UserSnapshot":
        return cls(
            id=user.id,
            username=user.username,
            email=user.email,
            display_name=user.display_name,
            version=user.version,
            created_at=user.created_at,
            credentials_version=user.credentials_version,
        )


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """What PATCH /users/me may change; ``None`` leaves a field as it is."""

    display_name: str | None = None
    email: str | None = None
    password: str | None = None

    @property
    def needs_reauthentication(self) -> bool:
        """Whoever holds a stolen access token must not take the account over: a new
        email (the way to reset a password) or password needs the current password."""
        return self.email is not None or self.password is not None


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
    # the cheap refusals first: a taken name must not cost an argon2 hash (nor a slot)
    _taken(uow_factory, rules.check_username(username), rules.normalize_email(email))
    user = User.register(
        username=username,
        email=email,
        password_hash=passwords.hash(credentials.normalized(password)),
        display_name=display_name,
        now=datetime.now(UTC),
    )
    with uow_factory() as uow:
        uow.users.add(user)
        try:
            uow.commit()
        except UniqueViolation:
            # someone took the name between our check and our commit: say which
            _taken(uow_factory, user.username, user.email)
            raise UsernameTakenError(f"username {user.username!r} is taken") from None
        return UserSnapshot.of(user)


def authenticate(
    uow_factory: UowFactory, passwords: PasswordHasher, *, username: str, password: str
) -> UserSnapshot:
    """The user whose credentials these are (no throttling: see :mod:`.login`).

    The password is checked outside any transaction, so argon2's time holds no database
    connection. A hash made with old parameters, or of the raw rather than the NFKC
    form, is replaced by the NFKC form's hash with the current parameters.
    """
    if not (credentials.plausible_username(username) and credentials.plausible_password(password)):
        # no such user can exist (and the database might refuse the text, NUL for one)
        credentials.check_nothing(passwords, password)
        raise InvalidCredentialsError(WRONG_CREDENTIALS)
    with uow_factory() as uow:
        user = uow.users.get_by_username(username)
        found = None if user is None else (UserSnapshot.of(user), user.password_hash)
    if found is None:
        credentials.check_nothing(passwords, password)
        raise InvalidCredentialsError(WRONG_CREDENTIALS)
    snapshot, password_hash = found
    checked = credentials.check(passwords, password_hash, password)
    if checked is credentials.Check.WRONG:
        raise InvalidCredentialsError(WRONG_CREDENTIALS)
    if checked is credentials.Check.MATCHED_RAW or passwords.needs_rehash(password_hash):
        _rehash(uow_factory, passwords, snapshot.id, password_hash, password)
    return snapshot


def _rehash(
    uow_factory: UowFactory,
    passwords: PasswordHasher,
    user_id: uuid.UUID,
    verified_hash: str,
    password: str,
) -> None:
    """Store the NFKC form's hash with the current parameters; skipped when the hashing
    slots are full or the user changed meanwhile (the next login tries again).

    The row is locked while the hash is compared and replaced: the UPDATE's version
    check cannot see a password change (it leaves the version alone), so without the
    lock a change committed between this read and this write would be overwritten by
    the old password's hash."""
    try:
        new_hash = passwords.hash(credentials.normalized(password))
    except HashingBusyError:
        return
    with uow_factory() as uow:
        user = uow.users.get(user_id, for_update=True)
        if user is None or user.password_hash != verified_hash:
            return  # deleted, or the password changed since we verified it
        user.rehash_password(new_hash)
        with contextlib.suppress(StaleUser):
            uow.commit()


def get_user(
    uow_factory: UowFactory, user_id: uuid.UUID, *, credentials_version: int | None = None
) -> UserSnapshot:
    """``credentials_version``: the caller's token's; a stale one is refused."""
    with uow_factory() as uow:
        return UserSnapshot.of(current_user(uow, user_id, credentials_version))


def current_user(uow: UnitOfWork, user_id: uuid.UUID, credentials_version: int | None) -> User:
    """The user of an access token: UnknownUserError if deleted, StaleCredentialsError if
    the password changed since the token (its ``credentials_version``) was issued."""
    user = uow.users.get(user_id)
    if user is None:
        raise UnknownUserError(str(user_id))
    if credentials_version is not None and user.credentials_version != credentials_version:
        raise StaleCredentialsError("the password changed since this token was issued")
    return user


def _retrying(attempt: Callable[[], T]) -> T:
    for _ in range(UPDATE_ATTEMPTS):
        try:
            return attempt()
        except StaleUser:
            continue
    raise ConcurrentUpdateError("the user was changed concurrently; try again")


def _require_proof(user_id: uuid.UUID, proof: Reauthenticated | None) -> None:
    if proof is None or proof.user_id != user_id:
        raise ReauthenticationRequiredError("current_password is required for this change")


def update_profile(
    uow_factory: UowFactory,
    passwords: PasswordHasher,
    user_id: uuid.UUID,
    changes: ProfileChanges,
    *,
    reauthenticated: Reauthenticated | None = None,
    credentials_version: int | None = None,
) -> UserSnapshot:
    """Apply ``changes``; a concurrent change of the same user is retried on fresh state.

    A new email or password needs ``reauthenticated`` (see :func:`.login.reauthenticate`).
    A new password bumps the credentials version, so every older access token is refused
    here from now on, and revokes every refresh token of the user, in the same commit.
    """
    if changes.needs_reauthentication:
        _require_proof(user_id, reauthenticated)
    new_hash = None
    if changes.password is not None:
        new_hash = passwords.hash(credentials.normalized(changes.password))

    def attempt() -> UserSnapshot:
        with uow_factory() as uow:
            user = current_user(uow, user_id, credentials_version)
            now = datetime.now(UTC)
            if changes.display_name is not None:
                user.change_display_name(changes.display_name, now)
            if changes.email is not None:
                user.change_email(changes.email)
            if new_hash is not None:
                user.change_password(new_hash)
                uow.refresh_tokens.revoke_user(user.id, now)
            try:
                uow.commit()
            except UniqueViolation:
                raise EmailTakenError("email is already registered") from None
            return UserSnapshot.of(user)

    return _retrying(attempt)


def delete_user(
    uow_factory: UowFactory,
    user_id: uuid.UUID,
    *,
    reauthenticated: Reauthenticated | None,
    credentials_version: int | None = None,
) -> None:
    """Remove the account (a hard delete: no personal data stays behind) and revoke its
    refresh tokens; needs ``reauthenticated``."""
    _require_proof(user_id, reauthenticated)

    def attempt() -> None:
        with uow_factory() as uow:
            user = current_user(uow, user_id, credentials_version)
            now = datetime.now(UTC)
            user.delete(now)
            uow.users.delete(user)
            uow.refresh_tokens.revoke_user(user.id, now)
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
