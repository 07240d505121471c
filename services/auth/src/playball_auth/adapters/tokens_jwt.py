"""Access tokens as RFC 9068 JWTs: RS256, header ``typ: at+jwt`` and ``kid`` (PyJWT).

Claims: ``iss``; ``sub`` (the user id); ``aud`` per scope; ``iat``; ``exp``; ``jti`` (128
random bits); ``client_id`` (``playball-password-grant``: the one client, the password
grant); ``scope`` (the scope's name); ``cv`` (the user's credentials version, so a
password change makes older tokens stale).

- scope ``groups``: ``aud: playball-groups``, living ``PLAYBALL_AUTH_TOKEN_TTL`` seconds;
- scope ``account``: ``aud: playball-auth``, living min(300, that TTL) seconds, so an
  account token never outlives a groups token and the longest lifetime (what key
  retirement waits for) stays the TTL.

Verification takes RS256 only, with a published key looked up by ``kid``; the ``typ``
must be exactly ``at+jwt`` (RFC 8725 §3.11: explicit typing keeps another kind of JWT
signed with the same key from passing as an access token); then the scope's audience,
the issuer, every claim above, and 30 s of clock leeway. ``alg: none``, HMAC tokens
(one "signed" with our public key included), other audiences or issuers and expired
tokens are all refused.

A token that passed is remembered (:class:`VerifiedTokens`, keyed by the token's text),
so the next request with it skips the parsing and the RSA check: the claims are only
kept while the token would still pass, i.e. until its ``exp`` (with the leeway) and
while its ``kid`` is published. The cache says nothing about the user: whether the
token's ``cv`` is still the user's credentials version is checked against the user row
on every request, by the use cases.
"""

import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from playball_auth.adapters.key_ring import KeyRing
from playball_auth.service_layer.ports import (
    AccessTokens,
    InvalidTokenError,
    IssuedToken,
    Scope,
    TokenClaims,
)

ALGORITHM = "RS256"
TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret
CLIENT_ID = "playball-password-grant"
AUDIENCES: dict[Scope, str] = {"groups": "playball-groups", "account": "playball-auth"}
ACCOUNT_TTL_SECONDS = 300
LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ["iss", "sub", "aud", "iat", "exp", "jti", "client_id", "scope", "cv"]
# verified tokens remembered; beyond that the oldest is forgotten (a token is ~1 kB)
VERIFIED_TOKENS_KEPT = 4096


def token_lifetimes(ttl_seconds: int) -> dict[Scope, int]:
    """Each scope's token lifetime for ``PLAYBALL_AUTH_TOKEN_TTL``."""
    return {"groups": ttl_seconds, "account": min(ACCOUNT_TTL_SECONDS, ttl_seconds)}


@dataclass(frozen=True, slots=True)
class _Verified:
    claims: TokenClaims
    kid: str
    valid_until: float  # exp plus the leeway, in time.time()'s seconds


class VerifiedTokens:
    """Tokens that passed verification, by their text, at most ``kept`` of them (the
    oldest forgotten first). Shared by the API's threads, hence the lock."""

    def __init__(self, kept: int = VERIFIED_TOKENS_KEPT) -> None:
        self._kept = kept
        self._found: dict[str, _Verified] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> _Verified | None:
        return self._found.get(token)

    def put(self, token: str, verified: _Verified) -> None:
        with self._lock:
            if len(self._found) >= self._kept and token not in self._found:
                del self._found[next(iter(self._found))]
            self._found[token] = verified

    def forget(self, token: str) -> None:
        with self._lock:
            self._found.pop(token, None)

    def __len__(self) -> int:
        return len(self._found)


class JwtAccessTokens(AccessTokens):
    def __init__(
        self,
        keys: KeyRing,
        *,
        issuer: str,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
        verified: VerifiedTokens | None = None,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.lifetimes = token_lifetimes(ttl_seconds)
        self._clock = clock
        self.verified = VerifiedTokens() if verified is None else verified

    def issue(self, user_id: uuid.UUID, *, scope: Scope, credentials_version: int) -> IssuedToken:
        keys = self.keys.current()
        lifetime = self.lifetimes[scope]
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": str(user_id),
            "aud": AUDIENCES[scope],
            "iat": now,
            "exp": now + lifetime,
            "jti": secrets.token_urlsafe(16),
            "client_id": CLIENT_ID,
            "scope": scope,
            "cv": credentials_version,
        }
        token = jwt.encode(
            claims,
            keys.signing_key,
            algorithm=ALGORITHM,
            headers={"kid": keys.signing_kid, "typ": TOKEN_TYPE},
        )
        return IssuedToken(access_token=token, expires_in=lifetime)

    def verify(self, token: str, *, scope: Scope) -> TokenClaims:
        remembered = self.verified.get(token)
        if remembered is not None:
            return self._still_valid(token, remembered, scope)
        claims, kid, expires = self._verify(token, scope)
        self.verified.put(token, _Verified(claims, kid, expires + LEEWAY_SECONDS))
        return claims

    def _still_valid(self, token: str, remembered: _Verified, scope: Scope) -> TokenClaims:
        """What a full verification would say of a token that passed it before: only
        the clock and the published keys have moved since."""
        if self._clock() > remembered.valid_until:
            self.verified.forget(token)
            raise InvalidTokenError("Signature has expired")
        if remembered.kid not in self.keys.current().published:
            self.verified.forget(token)
            raise InvalidTokenError("unknown kid")
        if remembered.claims.scope != scope:
            raise InvalidTokenError("scope or client_id does not match")
        return remembered.claims

    def _verify(self, token: str, scope: Scope) -> tuple[TokenClaims, str, int]:
        """The claims, the kid and the ``exp`` of a token checked in full."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != TOKEN_TYPE:
                raise InvalidTokenError(f"typ must be {TOKEN_TYPE}, not {header.get('typ')!r}")
            if header.get("alg") != ALGORITHM:
                raise InvalidTokenError(f"alg must be {ALGORITHM}")
            kid = str(header.get("kid"))
            key = self.keys.current().published.get(kid)
            if key is None:
                raise InvalidTokenError("unknown kid")
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                audience=AUDIENCES[scope],
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
            return _claims_of(claims, scope), kid, int(claims["exp"])
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidTokenError(str(exc)) from exc

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(key.jwk) for key in self.keys.current().published.values()]}


def _claims_of(claims: dict[str, Any], scope: Scope) -> TokenClaims:
    """The typed claims; the audience already matched, the rest is checked here."""
    cv, jti = claims["cv"], claims["jti"]
    if claims["scope"] != scope or claims["client_id"] != CLIENT_ID:
        raise InvalidTokenError("scope or client_id does not match")
    if not isinstance(cv, int) or isinstance(cv, bool) or not isinstance(jti, str):
        raise InvalidTokenError("cv must be an integer and jti a string")
    return TokenClaims(
        user_id=uuid.UUID(str(claims["sub"])),
        credentials_version=cv,
        scope=scope,
        jti=jti,
    )
