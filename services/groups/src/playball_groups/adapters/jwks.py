"""Verifying auth's access tokens (RFC 9068) against its JWKS.

The keys come from :class:`~playball_groups.adapters.jwks_cache.JwksCache`: the last good
set is kept for 24 h while auth is down or answers junk, refreshed every 300 s and on an
unknown ``kid`` (at most once per ``refresh_cooldown``, 30 s, so forged kids cannot
hammer auth), one fetch at a time and never under a lock other requests wait on. Only
RS256 is accepted: ``alg: none`` and HS256-signed-with-the-public-key never reach a key
comparison.

The header's ``typ`` must be exactly ``at+jwt`` (RFC 8725 §3.11), so no other kind of
JWT signed with auth's key passes as an access token; the audience must be this
service's (``playball-groups``: an ``account`` token, meant for auth's own endpoints, is
refused). Required are RFC 9068's claims: ``iss``, ``exp``, ``aud``, ``sub``,
``client_id``, ``iat``, ``jti``. ``scope`` and ``cv`` are auth's business (the audience
already says what the token is for; credentials versions are checked by auth alone).
Clocks may disagree by 30 s.

Exception messages carry PyJWT's text for the logs; the API never shows them.
"""

import ssl
import time
import uuid
from collections.abc import Callable

import jwt
from jwt.exceptions import PyJWTError

from playball_groups.adapters.jwks_cache import (
    MAX_STALE,
    REFRESH_COOLDOWN,
    REFRESH_INTERVAL,
    JwksCache,
)
from playball_groups.adapters.jwks_fetch import fetch_jwks
from playball_groups.adapters.jwks_keys import KeySet, parse_jwks
from playball_groups.service_layer.tokens import InvalidTokenError, TokenVerifier

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
        refresh_cooldown: float = REFRESH_COOLDOWN,
        cache_lifespan: float = REFRESH_INTERVAL,
        max_stale: float = MAX_STALE,
        timeout: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``cache_lifespan``: seconds until the set is refreshed; ``max_stale``: how long
        it serves while refreshes fail; ``timeout``: one fetch's bound, and how long a
        request with no usable set waits for a fetch already running."""
        self._issuer = issuer
        self._audience = audience

        def load() -> KeySet:
            return parse_jwks(fetch_jwks(jwks_url, timeout=timeout, ssl_context=ssl_context))

        self._keys = JwksCache(
            load,
            refresh_interval=cache_lifespan,
            refresh_cooldown=refresh_cooldown,
            max_stale=max_stale,
            wait_timeout=timeout,
            clock=clock,
        )

    def caller(self, token: str) -> uuid.UUID:
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError as exc:
            raise InvalidTokenError(str(exc)) from exc
        typ, kid, alg = header.get("typ"), header.get("kid"), header.get("alg")
        # checked before the key lookup: a wrong kind of token costs no JWKS fetch
        if typ != TOKEN_TYPE:
            raise InvalidTokenError(f"typ must be {TOKEN_TYPE}, not {typ!r:.80}")
        if alg not in ALGORITHMS:
            raise InvalidTokenError(f"alg must be one of {ALGORITHMS}, not {alg!r:.80}")
        if not isinstance(kid, str) or not kid:
            raise InvalidTokenError("the token names no key (kid)")
        key = self._keys.key(kid)
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
