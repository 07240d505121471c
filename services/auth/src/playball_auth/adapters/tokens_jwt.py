"""Access tokens: JWTs signed RS256 with ``kid`` in the header (PyJWT).

Claims: ``sub`` (user id), ``iss``, ``aud`` = ``playball-groups``, ``iat``, ``exp``.
Verification accepts RS256 only, with our key looked up by ``kid``; ``alg: none``, HMAC
tokens (including one "signed" with our public key as the secret), other audiences or
issuers, and expired tokens are all refused.
"""

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from playball_auth.adapters.signing_key import public_jwk
from playball_auth.service_layer.ports import AccessTokens, InvalidTokenError, IssuedToken

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ["sub", "iss", "aud", "iat", "exp"]


class JwtAccessTokens(AccessTokens):
    def __init__(
        self, key: rsa.RSAPrivateKey, *, issuer: str, audience: str, ttl_seconds: int
    ) -> None:
        self.key = key
        self.public_key = key.public_key()
        self.jwk = public_jwk(self.public_key)
        self.kid = self.jwk["kid"]
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl_seconds

    def issue(self, user_id: uuid.UUID) -> IssuedToken:
        now = int(time.time())
        claims = {
            "sub": str(user_id),
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + self.ttl,
        }
        token = jwt.encode(claims, self.key, algorithm=ALGORITHM, headers={"kid": self.kid})
        return IssuedToken(access_token=token, expires_in=self.ttl)

    def verify(self, token: str) -> uuid.UUID:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("kid") != self.kid or header.get("alg") != ALGORITHM:
                raise InvalidTokenError("unknown key or algorithm")
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": REQUIRED_CLAIMS},
            )
            return uuid.UUID(str(claims["sub"]))
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidTokenError(str(exc)) from exc

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self.jwk)]}
