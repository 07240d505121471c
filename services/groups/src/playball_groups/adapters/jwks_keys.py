"""What counts as a usable key set in a JWKS answer (RFC 7517): the parsing half of the
JWKS client, apart from how the answer is fetched and how long it is kept.

A usable key is an RSA *public* key with a ``kid``, meant for signatures (``use``
absent or ``sig``) and RS256 (``alg`` absent or ``RS256``): the only kind auth signs
with. Any other entry is skipped, not fatal, so a JWKS that also lists, say, an EC key
still serves its RSA ones. An answer with no usable key at all is junk: the caller keeps
the set it had (see :mod:`playball_groups.adapters.jwks_cache`).
"""

import json
import logging
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt import PyJWK

_log = logging.getLogger(__name__)

KeySet = Mapping[str, PyJWK]  # by kid


class KeySetError(Exception):
    """No usable key set could be had: unreachable, an error status, or junk.

    The text is for the logs (it may name the URL); the API never shows it.
    """


def parse_jwks(body: bytes) -> KeySet:
    """The usable keys of a JWKS document, by kid; raises :class:`KeySetError` on junk."""
    try:
        document = json.loads(body)
    # RecursionError: a megabyte of "[" nests deeper than the JSON decoder can follow
    except (ValueError, RecursionError) as exc:
        raise KeySetError(f"the JWKS is not JSON: {exc!r:.200}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeySetError('the JWKS is not an object with a "keys" list')
    entries: list[Any] = document["keys"]
    if not entries:
        raise KeySetError("the JWKS lists no keys")
    keys: dict[str, PyJWK] = {}
    for entry in entries:
        key = _usable_key(entry)
        if key is not None:
            keys[str(entry["kid"])] = key
    if not keys:
        raise KeySetError(f"none of the JWKS's {len(entries)} keys is a usable RS256 key")
    return keys


def _usable_key(entry: Any) -> PyJWK | None:
    if not isinstance(entry, dict):
        return None
    kid = entry.get("kid")
    if not isinstance(kid, str) or not kid:
        return None  # tokens name their key by kid: a key without one can never be used
    if entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
        return None
    if entry.get("alg", "RS256") != "RS256":
        return None
    try:
        key = PyJWK(entry, algorithm="RS256")
    # PyJWT turns most bad fields into InvalidKeyError, but not all of them (a number
    # where a base64 string belongs raises AttributeError deep in its decoder): one junk
    # entry must cost only itself, never the request that fetched it.
    except Exception as exc:  # noqa: BLE001
        _log.warning("skipping JWKS key %r: %.200s", kid[:64], exc)
        return None
    # A JWK with private members parses as a private key, which PyJWT cannot verify with
    # (no .verify): a 500 on every token. Nothing but a public key belongs in a JWKS.
    if not isinstance(key.key, RSAPublicKey):
        _log.warning("skipping JWKS key %r: not an RSA public key", kid[:64])
        return None
    return key
