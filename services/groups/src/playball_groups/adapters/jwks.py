"""Verifying auth's RS256 tokens against its JWKS (PyJWT's cached PyJWKClient).

The key set is cached; a token naming an unknown ``kid`` forces one refetch (a rotated
key), at most once per ``refresh_cooldown`` so forged kids cannot hammer the auth
service. Only RS256 is accepted: ``alg: none`` and HS256-signed-with-the-public-key
never reach a key comparison.
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
REQUIRED_CLAIMS = ["exp", "iat", "sub", "iss", "aud"]


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
                options={"require": REQUIRED_CLAIMS},
            )
            return uuid.UUID(str(claims["sub"]))
        except (PyJWTError, ValueError) as exc:
            raise InvalidTokenError(str(exc)) from exc
