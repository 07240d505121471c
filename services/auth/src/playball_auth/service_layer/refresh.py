"""Refresh tokens: opaque, single-use, rotating, with reuse detection (RFC 9700 §4.14.2).

A token is 256 random bits; only its SHA-256 is stored, so a copy of the database holds
no usable token. Each use spends it and issues the next one of the same *chain* (one
login's line of rotations). Presenting a token that was already spent means two parties
hold the chain (a thief and the client, in some order): the whole chain is revoked and
both must log in again. Logging out revokes the chain too.
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from playball_auth.service_layer.errors import InvalidGrantError
from playball_auth.service_layer.ports import RefreshToken, RefreshTokenRepository
from playball_auth.service_layer.unit_of_work import UnitOfWork

INVALID_GRANT = "the refresh token is invalid, expired or revoked"


def digest(token: str) -> str:
    """What is stored of a token (hex SHA-256): enough to find it, useless to present."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def add_token(
    tokens: RefreshTokenRepository,
    user_id: uuid.UUID,
    chain_id: uuid.UUID,
    now: datetime,
    lifetime: timedelta,
    *,
    credentials_version: int,
) -> str:
    """A new token of ``chain_id``, added to ``tokens`` (committed with their unit of work),
    valid while ``credentials_version`` is the user's."""
    value = secrets.token_urlsafe(32)  # 256 bits
    tokens.add(
        RefreshToken(
            id=uuid.uuid4(),
            token_hash=digest(value),
            chain_id=chain_id,
            user_id=user_id,
            issued_at=now,
            expires_at=now + lifetime,
            credentials_version=credentials_version,
        )
    )
    return value


@dataclass(frozen=True, slots=True)
class Rotated:
    user_id: uuid.UUID
    credentials_version: int
    refresh_token: str  # the chain's next token


def rotate(uow: UnitOfWork, token: str, now: datetime, lifetime: timedelta) -> Rotated:
    """Spend ``token`` and issue the next one of its chain; :class:`InvalidGrantError` for
    an unknown, expired or revoked token, or one whose user is gone.

    A token already spent (a replay, or a concurrent refresh that won) revokes its chain,
    committed before the refusal. The spend itself is one conditional UPDATE, so of two
    concurrent refreshes with one token exactly one succeeds.

    A token issued under credentials the user has changed since is refused, its chain
    revoked: a password change revokes the user's tokens in its commit, but a login that
    checked the old password just before could add its token just after.
    """
    stored = uow.refresh_tokens.get_by_hash(digest(token))
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise InvalidGrantError(INVALID_GRANT)
    if stored.spent_at is not None or not uow.refresh_tokens.spend(stored.id, now):
        uow.refresh_tokens.revoke_chain(stored.chain_id, now)
        uow.commit()
        raise InvalidGrantError(INVALID_GRANT)
    user = uow.users.get(stored.user_id)
    if user is None:
        raise InvalidGrantError(INVALID_GRANT)
    issued_under = stored.credentials_version
    if issued_under is not None and issued_under != user.credentials_version:
        uow.refresh_tokens.revoke_chain(stored.chain_id, now)
        uow.commit()
        raise InvalidGrantError(INVALID_GRANT)
    following = add_token(
        uow.refresh_tokens,
        user.id,
        stored.chain_id,
        now,
        lifetime,
        credentials_version=user.credentials_version,
    )
    uow.commit()
    return Rotated(user.id, user.credentials_version, following)


def revoke(uow: UnitOfWork, token: str, now: datetime) -> None:
    """Revoke the chain of ``token``; an unknown token is no error (RFC 7009 §2.2)."""
    stored = uow.refresh_tokens.get_by_hash(digest(token))
    if stored is not None:
        uow.refresh_tokens.revoke_chain(stored.chain_id, now)
        uow.commit()
