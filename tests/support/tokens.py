"""An RSA signer and a JWKS server on 127.0.0.1, standing in for the auth service.

Tokens are minted as auth mints them (RFC 9068: ``typ: at+jwt``, ``jti``, ``client_id``,
``scope``, ``cv``); the negative tests ask for another ``typ`` or the account audience.
"""

import base64
import datetime as dt
import hashlib
import hmac
import json
import ssl
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

AUDIENCE = "playball-groups"
ACCOUNT_AUDIENCE = "playball-auth"
TOKEN_TYPE = "at+jwt"
CLIENT_ID = "playball-password-grant"


class SigningKey:
    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:16]

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        data.update(kid=self.kid, use="sig", alg="RS256")
        return data


class Issuer:
    """Mints tokens as auth does; ``keys`` is what its JWKS endpoint serves.

    For the JWKS client's failure tests: ``answer`` (status, body), when set, is served
    instead of the keys, with ``location`` as its Location header if that is set;
    ``hold``, when set, keeps each JWKS request waiting until it is set; ``fetches``
    counts the JWKS requests that arrived.
    """

    def __init__(self) -> None:
        self.keys = [SigningKey()]
        self.url = ""  # set once the server listens
        self.answer: tuple[int, bytes] | None = None
        self.location: str | None = None
        self.hold: threading.Event | None = None
        self._fetches = 0
        self._fetches_lock = threading.Lock()  # the server answers on a thread per request

    @property
    def fetches(self) -> int:
        with self._fetches_lock:
            return self._fetches

    def fetched(self) -> None:
        with self._fetches_lock:
            self._fetches += 1

    def jwks_answer(self) -> tuple[int, bytes]:
        """What the JWKS endpoint answers now (after ``hold`` lets it)."""
        self.fetched()
        if self.hold is not None:
            self.hold.wait()
        if self.answer is not None:
            return self.answer
        return 200, json.dumps({"keys": [k.jwk() for k in self.keys]}).encode()

    @property
    def key(self) -> SigningKey:
        return self.keys[0]

    def claims(self, user_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
        issued = dt.datetime.now(dt.UTC)
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "iss": self.url,
            "aud": AUDIENCE,
            "iat": issued,
            "exp": issued + dt.timedelta(minutes=5),
            "jti": uuid.uuid4().hex,
            "client_id": CLIENT_ID,
            "scope": "groups",
            "cv": 1,
        }
        claims.update(overrides)
        return claims

    def token(
        self,
        user_id: uuid.UUID,
        key: SigningKey | None = None,
        *,
        typ: str | None = TOKEN_TYPE,
        **overrides: Any,
    ) -> str:
        """A token as auth issues it; ``typ=None`` leaves ``typ`` out of the header."""
        key = key or self.key
        return jwt.encode(
            self.claims(user_id, **overrides),
            key.private,
            algorithm="RS256",
            # PyJWT drops a typ of None, and would add "JWT" were typ not given at all
            headers={"kid": key.kid, "typ": typ},
        )

    def account_token(self, user_id: uuid.UUID) -> str:
        """A well-formed token for auth's own endpoints (scope account), not for groups."""
        return self.token(user_id, aud=ACCOUNT_AUDIENCE, scope="account")

    def hs256_with_public_key(self, user_id: uuid.UUID) -> str:
        """The HS/RS confusion attack: HMAC keyed with the public PEM (PyJWT won't sign it)."""
        header = {"alg": "HS256", "typ": TOKEN_TYPE, "kid": self.key.kid}
        claims = self.claims(user_id)
        claims["iat"] = int(claims["iat"].timestamp())
        claims["exp"] = int(claims["exp"].timestamp())
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self.key.public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    def unsigned(self, user_id: uuid.UUID) -> str:
        """``alg: none``."""
        header = {"alg": "none", "typ": TOKEN_TYPE, "kid": self.key.kid}
        claims = self.claims(user_id)
        claims["iat"] = int(claims["iat"].timestamp())
        claims["exp"] = int(claims["exp"].timestamp())
        return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _QuietServer(ThreadingHTTPServer):
    """Says nothing when a client hangs up before its answer: the timeout tests' clients
    do that on purpose."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def jwks_server(tls: ssl.SSLContext | None = None) -> Iterator[Issuer]:
    """An :class:`Issuer` whose ``url`` serves ``/.well-known/jwks.json`` (https with a
    ``tls`` server context)."""
    issuer = Issuer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/.well-known/jwks.json":
                self.send_error(404)
                return
            status, body = issuer.jwks_answer()
            self.send_response(status)
            if issuer.location is not None:
                self.send_header("Location", issuer.location)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _QuietServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "http" if tls is None else "https"
    issuer.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    # shutdown() waits out one poll: the default 0.5 s would be most of a short test
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
