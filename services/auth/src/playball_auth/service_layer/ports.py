"""The ports the use cases depend on. Adapters subclass them; unit tests use fakes."""

import abc
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Network, IPv6Network
from typing import TYPE_CHECKING, Any, Literal

from playball_auth.domain.model import User, UserEvent

if TYPE_CHECKING:  # the unit of work module imports the repository ports from here
    from playball_auth.service_layer.unit_of_work import UnitOfWork


class UserRepository(abc.ABC):
    """Users of one unit of work. ``get*`` return ``None`` for a missing user."""

    @abc.abstractmethod
    def add(self, user: User) -> None: ...

    @abc.abstractmethod
    def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        """``for_update``: the user's row locked against concurrent change until the unit
        of work ends, for a write decided by what was read (not only by its version)."""

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


Scope = Literal["groups", "account"]
"""What a token is for: ``groups`` (audience ``playball-groups``, the default) or
``account`` (audience ``playball-auth``, for auth's own /users/me, short-lived)."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified access token says (RFC 9068)."""

    user_id: uuid.UUID  # sub
    credentials_version: int  # cv: stale once the password changed or the user was deleted
    scope: Scope
    jti: str


class InvalidTokenError(Exception):
    """A token that is missing, malformed, expired, for someone else, or badly signed."""


class AccessTokens(abc.ABC):
    @abc.abstractmethod
    def issue(self, user_id: uuid.UUID, *, scope: Scope, credentials_version: int) -> IssuedToken:
        """A signed ``at+jwt`` for ``scope``'s audience, with its lifetime."""

    @abc.abstractmethod
    def verify(self, token: str, *, scope: Scope) -> TokenClaims:
        """The claims of a valid token for ``scope``'s audience; InvalidTokenError otherwise."""

    @abc.abstractmethod
    def jwks(self) -> dict[str, Any]:
        """The public keys verifying the tokens, as a JWK set."""


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """A stored refresh token: only the SHA-256 (hex) of the opaque value is kept."""

    id: uuid.UUID
    token_hash: str
    chain_id: uuid.UUID  # one login's line of rotations
    user_id: uuid.UUID
    issued_at: datetime
    expires_at: datetime
    spent_at: datetime | None = None
    revoked_at: datetime | None = None
    # the user's credentials version its chain began under (None: issued before it was
    # recorded): a rotation refuses the token once the user's is another
    credentials_version: int | None = None


class RefreshTokenRepository(abc.ABC):
    """Refresh tokens of one unit of work (so revoking them commits with the change)."""

    @abc.abstractmethod
    def add(self, token: RefreshToken) -> None: ...

    @abc.abstractmethod
    def get_by_hash(self, token_hash: str) -> RefreshToken | None: ...

    @abc.abstractmethod
    def spend(self, token_id: uuid.UUID, now: datetime) -> bool:
        """Mark the token spent if it is not yet spent nor revoked; False if it was (a
        concurrent refresh won, or a replay)."""

    @abc.abstractmethod
    def revoke_chain(self, chain_id: uuid.UUID, now: datetime) -> None: ...

    @abc.abstractmethod
    def revoke_user(self, user_id: uuid.UUID, now: datetime) -> None:
        """Revoke every refresh token of the user (a password change, a deletion)."""


class LoginThrottle(abc.ABC):
    """The shared failed-login state (see :mod:`playball_auth.domain.throttle`).

    Each call runs in a transaction of its own: a failure is recorded even when the
    login's own unit of work rolls back.

    ``username_key`` is None for a name no account can have (nothing to lock, only the
    address counts); ``address`` is None when the client's address is unknown.
    """

    @abc.abstractmethod
    def retry_after(
        self, username_key: str | None, address: str | None, now: datetime
    ) -> int | None:
        """Seconds until a login for this account from this address may be tried; None if
        it may be tried now."""

    @abc.abstractmethod
    def record_failure(
        self, username_key: str | None, address: str | None, now: datetime
    ) -> None: ...

    @abc.abstractmethod
    def record_success(self, username_key: str) -> None:
        """A login succeeded: the account's run of failures ends."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AuthPorts:
    """Everything the entrypoints need, wired by :mod:`playball_auth.bootstrap` (or fakes)."""

    uow_factory: "Callable[[], UnitOfWork]"
    passwords: PasswordHasher
    tokens: AccessTokens
    check_ready: "Callable[[], bool]"
    throttle: LoginThrottle
    clock: "Callable[[], datetime]" = utc_now  # tests move time instead of waiting
    refresh_ttl: timedelta = timedelta(days=30)
    # proxies whose X-Forwarded-For names the client (for per-address throttling)
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
