"""What counts as a usable key set in a JWKS answer (RFC 7517): the parsing half of the
JWKS client, apart from how the answer is fetched and how long it is kept.

A usable key is an RSA *public* key with a ``kid``, meant for signatures (``use``
absent or ``sig``) and RS256 (``alg`` absent or ``RS256``), of 2048 to 8192 bits: the
only kind auth signs with (3072 bits today). Any other entry is skipped, not fatal, so
a JWKS that also lists, say, an EC key still serves its RSA ones. An answer with no
usable key at all is junk: the caller keeps the set it had (see
:mod:`playball_groups.adapters.jwks_cache`).
"""

import json
import logging
from collections.abc import Mapping
from typing import Any

from jwt import PyJWK

_log = logging.getLogger(__name__)

KeySet = Mapping[str, PyJWK]  # by kid

# RFC 7518 §3.3 asks for 2048 at least; above 8192 every verification gets costly (the
# work grows with the square of the size), and a JWKS may come from whoever holds the port
MIN_RSA_BITS, MAX_RSA_BITS = 2048, 8192
# An RSA JWK's private members (RFC 7518 §6.3.2). PyJWT parses a JWK with them as a
# private key, which it cannot verify with (no .verify): a 500 on every token. Nothing
# but public keys belongs in a JWKS.
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth")


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
    if not _describes_an_rs256_key(entry):
        return None
    kid: str = entry["kid"]
    try:
        key = PyJWK(entry, algorithm="RS256")
    # PyJWT wraps the errors it expects in InvalidKeyError, but the numbers go on to
    # cryptography, whose own checks are no part of PyJWT's contract: one junk entry must
    # cost only itself, never the request that fetched it.
    except Exception as exc:
        _log.warning("skipping JWKS key %r: %.200s", kid[:64], exc)
        return None
    bits = getattr(key.key, "key_size", None)  # PyJWT types its keys as Any
    if not isinstance(bits, int) or not MIN_RSA_BITS <= bits <= MAX_RSA_BITS:
        _log.warning("skipping JWKS key %r: %s bits", kid[:64], bits)
        return None
    return key


def _describes_an_rs256_key(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        # tokens name their key by kid: a key without one could never be used
        and isinstance(entry.get("kid"), str)
        and entry["kid"] != ""
        and entry.get("kty") == "RSA"
        and entry.get("use", "sig") == "sig"
        and entry.get("alg", "RS256") == "RS256"
        and not any(member in entry for member in _PRIVATE_MEMBERS)
    )
