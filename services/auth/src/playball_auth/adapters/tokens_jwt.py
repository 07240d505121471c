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
"""

import secrets
import time
import uuid
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


def token_lifetimes(ttl_seconds: int) -> dict[Scope, int]:
    """Each scope's token lifetime for ``PLAYBALL_AUTH_TOKEN_TTL``."""
    return {"groups": ttl_seconds, "account": min(ACCOUNT_TTL_SECONDS, ttl_seconds)}


class JwtAccessTokens(AccessTokens):
    def __init__(self, keys: KeyRing, *, issuer: str, ttl_seconds: int) -> None:
        self.keys = keys
        self.issuer = issuer
        self.lifetimes = token_lifetimes(ttl_seconds)

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
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != TOKEN_TYPE:
                raise InvalidTokenError(f"typ must be {TOKEN_TYPE}, not {header.get('typ')!r}")
            if header.get("alg") != ALGORITHM:
                raise InvalidTokenError(f"alg must be {ALGORITHM}")
            key = self.keys.current().published.get(str(header.get("kid")))
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
            return _claims_of(claims, scope)
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
