"""Fakes of the auth service's ports, subclassing them, for unit tests without a database.

The fake unit of work keeps committed users in a shared store and works on copies, so a
block left without commit changes nothing, as with a real transaction; it enforces the
same unique keys (case-insensitive username, email) and the version check on commit.
Versions and events are the real domain's: a commit moves the events the users recorded
(and those added explicitly) into the store's outbox, as saving them does in SQL.
"""

import copy
import dataclasses
import math
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from playball_auth.domain.model import User, UserEvent
from playball_auth.domain.rules import username_key
from playball_auth.domain.throttle import ADDRESS_WINDOW_S, ThrottlePolicy
from playball_auth.service_layer.errors import StaleUser, UniqueViolation
from playball_auth.service_layer.ports import (
    AccessTokens,
    InvalidTokenError,
    IssuedToken,
    LoginThrottle,
    Outbox,
    PasswordHasher,
    RefreshToken,
    RefreshTokenRepository,
    Scope,
    TokenClaims,
    UserRepository,
)
from playball_auth.service_layer.unit_of_work import UnitOfWork


def _detached(user: User) -> User:
    """A copy of ``user`` with its own list of recorded events."""
    clone = copy.copy(user)
    clone.events = list(user.events)
    return clone


class FakeStore:
    """What the fake 'database' holds: committed users and enqueued events."""

    def __init__(self) -> None:
        self.users: dict[uuid.UUID, User] = {}
        self.outbox: list[UserEvent] = []
        self.refresh_tokens: dict[uuid.UUID, RefreshToken] = {}
        self.commits = 0


class FakeUserRepository(UserRepository):
    def __init__(self, store: FakeStore) -> None:
        self.seen: dict[uuid.UUID, User] = {}
        self.read_versions: dict[uuid.UUID, int] = {}
        self.deleted: set[uuid.UUID] = set()
        self.store = store

    def _load(self, user: User | None) -> User | None:
        if user is None or user.id in self.deleted:
            return None
        if user.id not in self.seen:
            self.seen[user.id] = _detached(user)
            self.read_versions[user.id] = user.version
        return self.seen[user.id]

    def add(self, user: User) -> None:
        self.seen[user.id] = user

    def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:  # noqa: ARG002
        # the fakes run one unit of work at a time: there is nothing to lock against
        return self._load(self.seen.get(user_id) or self.store.users.get(user_id))

    def get_by_username(self, username: str) -> User | None:
        for user in [*self.seen.values(), *self.store.users.values()]:
            if username_key(user.username) == username_key(username):
                return self._load(user)
        return None

    def get_by_email(self, email: str) -> User | None:
        for user in [*self.seen.values(), *self.store.users.values()]:
            if user.email == email:
                return self._load(user)
        return None

    def delete(self, user: User) -> None:
        self.deleted.add(user.id)

    def page_after(self, after: uuid.UUID | None, limit: int) -> Sequence[User]:
        ids = sorted(uid for uid in self.store.users if after is None or uid > after)
        return [u for u in (self._load(self.store.users[uid]) for uid in ids[:limit]) if u]


class FakeOutbox(Outbox):
    def __init__(self) -> None:
        self.pending: list[UserEvent] = []

    def add(self, events: Sequence[UserEvent]) -> None:
        self.pending.extend(events)


class FakeRefreshTokenRepository(RefreshTokenRepository):
    """Changed tokens are kept apart (``changed``) until the unit of work commits."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.changed: dict[uuid.UUID, RefreshToken] = {}

    def _all(self) -> list[RefreshToken]:
        return [*{**self.store.refresh_tokens, **self.changed}.values()]

    def _update(self, token: RefreshToken, **values: Any) -> None:
        self.changed[token.id] = dataclasses.replace(token, **values)

    def add(self, token: RefreshToken) -> None:
        self.changed[token.id] = token

    def get_by_hash(self, token_hash: str) -> RefreshToken | None:
        return next((t for t in self._all() if t.token_hash == token_hash), None)

    def spend(self, token_id: uuid.UUID, now: datetime) -> bool:
        token = next((t for t in self._all() if t.id == token_id), None)
        if token is None or token.spent_at is not None or token.revoked_at is not None:
            return False
        self._update(token, spent_at=now)
        return True

    def revoke_chain(self, chain_id: uuid.UUID, now: datetime) -> None:
        for token in self._all():
            if token.chain_id == chain_id and token.revoked_at is None:
                self._update(token, revoked_at=now)

    def revoke_user(self, user_id: uuid.UUID, now: datetime) -> None:
        for token in self._all():
            if token.user_id == user_id and token.revoked_at is None:
                self._update(token, revoked_at=now)


class FakeUnitOfWork(UnitOfWork):
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def __enter__(self) -> "FakeUnitOfWork":
        self.users = self.fake_users = FakeUserRepository(self.store)
        self.outbox = self.fake_outbox = FakeOutbox()
        self.refresh_tokens = self.fake_refresh_tokens = FakeRefreshTokenRepository(self.store)
        return self

    def commit(self) -> None:
        store = self.store
        for user_id, read in self.fake_users.read_versions.items():
            current = store.users.get(user_id)
            if current is None or current.version != read:
                raise StaleUser(str(user_id))
        others = [u for uid, u in store.users.items() if uid not in self.fake_users.seen]
        for user in self.fake_users.seen.values():
            if user.id in self.fake_users.deleted:
                continue
            for other in others:
                if username_key(other.username) == username_key(user.username):
                    raise UniqueViolation("username")
                if other.email == user.email:
                    raise UniqueViolation("email")
        for user in self.fake_users.seen.values():
            store.outbox.extend(user.events)
            user.events.clear()
            if user.id in self.fake_users.deleted:
                store.users.pop(user.id, None)
            else:
                store.users[user.id] = _detached(user)
        store.outbox.extend(self.fake_outbox.pending)
        self.fake_outbox.pending = []
        store.refresh_tokens.update(self.fake_refresh_tokens.changed)
        self.fake_refresh_tokens.changed = {}
        store.commits += 1
        self.fake_users.read_versions = {
            uid: u.version for uid, u in self.fake_users.seen.items() if uid in store.users
        }

    def rollback(self) -> None:
        pass  # nothing reaches the store before commit


class FakeLoginThrottle(LoginThrottle):
    """The policy of :mod:`playball_auth.domain.throttle` in memory, as the SQL adapter
    applies it in the database."""

    def __init__(self, policy: ThrottlePolicy | None = None) -> None:
        self.policy = policy or ThrottlePolicy()
        # username key -> (failures in the run, last failure, locked until)
        self.accounts: dict[str, tuple[int, datetime, datetime | None]] = {}
        self.address_failures: dict[str, list[datetime]] = {}
        self._lock = threading.Lock()

    def retry_after(
        self, username_key: str | None, address: str | None, now: datetime
    ) -> int | None:
        window = timedelta(seconds=ADDRESS_WINDOW_S)
        until: list[datetime] = []
        with self._lock:
            if username_key in self.accounts:
                locked_until = self.accounts[username_key][2]
                if locked_until is not None and locked_until > now:
                    until.append(locked_until)
            if address is not None:
                recent = sorted(
                    (t for t in self.address_failures.get(address, []) if t > now - window),
                    reverse=True,
                )
                if len(recent) >= self.policy.address_failures_per_min:
                    until.append(recent[self.policy.address_failures_per_min - 1] + window)
        if not until:
            return None
        return max(1, math.ceil((max(until) - now).total_seconds()))

    def record_failure(self, username_key: str | None, address: str | None, now: datetime) -> None:
        with self._lock:
            if username_key is not None:
                previous = self.accounts.get(username_key)
                failures = 1
                if previous is not None and self.policy.continues_run(previous[1], now):
                    failures = previous[0] + 1
                lock = self.policy.lock_seconds(failures)
                locked_until = now + timedelta(seconds=lock) if lock else None
                self.accounts[username_key] = (failures, now, locked_until)
            if address is not None:
                self.address_failures.setdefault(address, []).append(now)

    def record_success(self, username_key: str) -> None:
        with self._lock:
            self.accounts.pop(username_key, None)


class FakePasswordHasher(PasswordHasher):
    """``fake$<params>$<password>``: readable, fast, and with parameters to change."""

    def __init__(self, params: str = "p1") -> None:
        self.params = params
        self.hashed = 0
        self.verified = 0

    def hash(self, password: str) -> str:
        self.hashed += 1
        return f"fake${self.params}${password}"

    def verify(self, password_hash: str, password: str) -> bool:
        self.verified += 1
        return password_hash.split("$", 2)[-1] == password

    def needs_rehash(self, password_hash: str) -> bool:
        return password_hash.split("$", 2)[1] != self.params


class FakeAccessTokens(AccessTokens):
    """Readable tokens, ``token.<scope>.<cv>.<user id>``, refused for another scope."""

    def issue(self, user_id: uuid.UUID, *, scope: Scope, credentials_version: int) -> IssuedToken:
        token = f"token.{scope}.{credentials_version}.{user_id}"
        return IssuedToken(access_token=token, expires_in=60)

    def verify(self, token: str, *, scope: Scope) -> TokenClaims:
        prefix, token_scope, cv, user_id = [*token.split("."), "", "", "", ""][:4]
        if prefix != "token" or token_scope != scope:
            raise InvalidTokenError(token)
        try:
            return TokenClaims(uuid.UUID(user_id), int(cv), scope, jti=token)
        except ValueError:
            raise InvalidTokenError(token) from None

    def jwks(self) -> dict[str, Any]:
        return {"keys": []}


class FakeClock:
    """A clock that moves only when told: throttling and expiry tested without waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class CountingPasswordHasher(PasswordHasher):
    """Another hasher, counting the hashes and verifies that reach it."""

    def __init__(self, inner: PasswordHasher) -> None:
        self.inner = inner
        self.hashed = 0
        self.verified = 0

    def hash(self, password: str) -> str:
        self.hashed += 1
        return self.inner.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self.verified += 1
        return self.inner.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.inner.needs_rehash(password_hash)
