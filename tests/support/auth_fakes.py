"""Fakes of the auth service's ports, subclassing them, for unit tests without a database.

The fake unit of work keeps committed users in a shared store and works on copies, so a
block left without commit changes nothing, as with a real transaction; it enforces the
same unique keys (case-insensitive username, email) and the version check on commit.
Versions and events are the real domain's: a commit moves the events the users recorded
(and those added explicitly) into the store's outbox, as saving them does in SQL.
"""

import copy
import uuid
from collections.abc import Sequence
from typing import Any

from playball_auth.domain.model import User, UserEvent
from playball_auth.domain.rules import username_key
from playball_auth.service_layer.errors import StaleUser, UniqueViolation
from playball_auth.service_layer.ports import (
    AccessTokens,
    InvalidTokenError,
    IssuedToken,
    Outbox,
    PasswordHasher,
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

    def get(self, user_id: uuid.UUID) -> User | None:
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


class FakeUnitOfWork(UnitOfWork):
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def __enter__(self) -> "FakeUnitOfWork":
        self.users = self.fake_users = FakeUserRepository(self.store)
        self.outbox = self.fake_outbox = FakeOutbox()
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
        store.commits += 1
        self.fake_users.read_versions = {
            uid: u.version for uid, u in self.fake_users.seen.items() if uid in store.users
        }

    def rollback(self) -> None:
        pass  # nothing reaches the store before commit


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
    def issue(self, user_id: uuid.UUID) -> IssuedToken:
        return IssuedToken(access_token=f"token-{user_id}", expires_in=60)

    def verify(self, token: str) -> uuid.UUID:
        try:
            return uuid.UUID(token.removeprefix("token-"))
        except ValueError:
            raise InvalidTokenError(token) from None

    def jwks(self) -> dict[str, Any]:
        return {"keys": []}
