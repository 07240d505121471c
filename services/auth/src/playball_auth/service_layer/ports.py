"""The ports the use cases depend on. Adapters subclass them; unit tests use fakes."""

import abc
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from playball_auth.domain.model import User, UserEvent

if TYPE_CHECKING:  # the unit of work module imports the repository ports from here
    from playball_auth.service_layer.unit_of_work import UnitOfWork


class UserRepository(abc.ABC):
    """Users of one unit of work. ``get*`` return ``None`` for a missing user."""

    @abc.abstractmethod
    def add(self, user: User) -> None: ...

    @abc.abstractmethod
    def get(self, user_id: uuid.UUID) -> User | None: ...

    @abc.abstractmethod
    def get_by_username(self, username: str) -> User | None:
        """Case-insensitive: usernames are unique regardless of case."""

    @abc.abstractmethod
    def get_by_email(self, email: str) -> User | None:
        """``email`` already normalized (lower case)."""

    @abc.abstractmethod
    def delete(self, user: User) -> None: ...

    @abc.abstractmethod
    def page_after(self, after: uuid.UUID | None, limit: int) -> Sequence[User]:
        """Up to ``limit`` users with an id greater than ``after``, in id order, locked
        against concurrent change until the unit of work ends (so their versions hold)."""


class Outbox(abc.ABC):
    """Events enqueued explicitly (a backfill); a saved user enqueues what it recorded."""

    @abc.abstractmethod
    def add(self, events: Sequence[UserEvent]) -> None: ...


class PasswordHasher(abc.ABC):
    @abc.abstractmethod
    def hash(self, password: str) -> str: ...

    @abc.abstractmethod
    def verify(self, password_hash: str, password: str) -> bool:
        """True if ``password`` matches; False for a mismatch or an unreadable hash."""

    @abc.abstractmethod
    def needs_rehash(self, password_hash: str) -> bool:
        """True if the hash was made with other parameters than the current ones."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


class InvalidTokenError(Exception):
    """A token that is missing, malformed, expired, for someone else, or badly signed."""


class AccessTokens(abc.ABC):
    @abc.abstractmethod
    def issue(self, user_id: uuid.UUID) -> IssuedToken: ...

    @abc.abstractmethod
    def verify(self, token: str) -> uuid.UUID:
        """The user id (``sub``) of a valid token; InvalidTokenError otherwise."""

    @abc.abstractmethod
    def jwks(self) -> dict[str, Any]:
        """The public keys verifying the tokens, as a JWK set."""


@dataclass(frozen=True, slots=True)
class AuthPorts:
    """Everything the entrypoints need, wired by :mod:`playball_auth.bootstrap` (or fakes)."""

    uow_factory: "Callable[[], UnitOfWork]"
    passwords: PasswordHasher
    tokens: AccessTokens
    check_ready: "Callable[[], bool]"
