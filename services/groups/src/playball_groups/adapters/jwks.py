"""Verifying auth's access tokens (RFC 9068) against its JWKS (PyJWT's cached PyJWKClient).

The key set is cached; a token naming an unknown ``kid`` forces one refetch (a rotated
key), at most once per ``refresh_cooldown`` so forged kids cannot hammer the auth
service. Only RS256 is accepted: ``alg: none`` and HS256-signed-with-the-public-key
never reach a key comparison.

The header's ``typ`` must be exactly ``at+jwt`` (RFC 8725 §3.11), so no other kind of
JWT signed with auth's key passes as an access token; the audience must be this
service's (``playball-groups``: an ``account`` token, meant for auth's own endpoints, is
refused). Required are RFC 9068's claims: ``iss``, ``exp``, ``aud``, ``sub``,
``client_id``, ``iat``, ``jti``. ``scope`` and ``cv`` are auth's business (the audience
already says what the token is for; credentials versions are checked by auth alone).
Clocks may disagree by 30 s.

Exception messages carry PyJWT's text for the logs; the API never shows them.
"""

import uuid

import jwt
from jwt.exceptions import PyJWKClientConnectionError, PyJWTError

from playball_groups.service_layer.tokens import (
    InvalidTokenError,
    TokenKeysUnavailableError,
    TokenVerifier,
)

ALGORITHMS = ["RS256"]
TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret
REQUIRED_CLAIMS = ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"]
LEEWAY_SECONDS = 30


class JwksTokenVerifier(TokenVerifier):
    def __init__(
        self,
        jwks_url: str,
        *,
        issuer: str,
        audience: str,
        refresh_cooldown: float = 5.0,
        cache_lifespan: float = 300.0,
        timeout: float = 5.0,
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._keys = jwt.PyJWKClient(
            jwks_url,
            cache_jwk_set=True,
            lifespan=cache_lifespan,
            timeout=timeout,
            cooldown_duration=refresh_cooldown,
        )

    def caller(self, token: str) -> uuid.UUID:
        try:
            typ = jwt.get_unverified_header(token).get("typ")
        except PyJWTError as exc:
            raise InvalidTokenError(str(exc)) from exc
        if typ != TOKEN_TYPE:
            # checked before the key lookup: a wrong kind of token costs no JWKS fetch
            raise InvalidTokenError(f"typ must be {TOKEN_TYPE}, not {typ!r}")
        try:
            key = self._keys.get_signing_key_from_jwt(token)
        except PyJWKClientConnectionError as exc:
            raise TokenKeysUnavailableError(str(exc)) from exc
        except PyJWTError as exc:
            raise InvalidTokenError(str(exc)) from exc
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
            return uuid.UUID(str(claims["sub"]))
        except (PyJWTError, ValueError) as exc:
            raise InvalidTokenError(str(exc)) from exc
