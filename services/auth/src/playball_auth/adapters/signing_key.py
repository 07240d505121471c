"""The RSA key that signs access tokens: loaded from a PEM file, or made for development.

A missing key is generated only at the default location (the user's data dir): that is
the development case. A path set in ``PLAYBALL_AUTH_SIGNING_KEY`` must exist, because a
production service that silently made itself a new key would issue tokens nobody else
accepts. The generated file is mode 0600 and appears atomically (written aside, then
linked into place), so two processes starting together end up with the same key.
"""

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 3072


class SigningKeyError(Exception):
    """The key file is missing or unreadable; the message names it."""


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(key: rsa.RSAPublicKey) -> dict[str, str]:
    """The key as a JWK, ``kid`` = its RFC 7638 thumbprint (stable for the same key)."""
    numbers = key.public_numbers()
    members = {"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return {**members, "kid": kid, "use": "sig", "alg": "RS256"}


def generate_key_file(path: Path) -> None:
    """Write a new private key to ``path`` (0600) unless a key is already there."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")  # created 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        # atomic, and refuses to replace a key another process made meanwhile
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        Path(tmp).unlink()


def load_signing_key(path: Path, *, generate_if_missing: bool) -> rsa.RSAPrivateKey:
    if not path.exists():
        if not generate_if_missing:
            msg = f"signing key {path} does not exist"
            raise SigningKeyError(msg)
        generate_key_file(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        msg = f"cannot read the signing key {path}: {exc}"
        raise SigningKeyError(msg) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        msg = f"signing key {path} is not an RSA private key"
        raise SigningKeyError(msg)
    return key
