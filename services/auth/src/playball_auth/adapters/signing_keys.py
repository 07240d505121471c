"""The directory of RSA keys that sign access tokens (``PLAYBALL_AUTH_SIGNING_KEYS``).

Layout, one entry per key, named by its ``kid`` (the RFC 7638 thumbprint):

- ``<kid>.pem``: the private key, PKCS#8, unencrypted;
- ``<kid>.json``: ``{"signs_from": "<ISO 8601>"}``, when the key takes over signing. A
  key made by ``keys rotate`` has one; a key without one has signed since ever (the
  first key, or one copied in by hand). :mod:`key_rotation` decides from these times
  which key signs and which are published.

The directory must be 0700 and every file 0600: a private key another local user can
read is a key anyone on the host can mint tokens with, so such a directory is refused
rather than silently used.

Files appear atomically (written under a dot-name, then linked into place), so a process
re-reading the directory never sees half a file; a key's metadata is written before its
PEM, so a key is never seen without its activation time. Dot-files are ignored.
"""

import base64
import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from playball_auth.adapters.key_rotation import KeyTimes, prunable

KEY_BITS = 3072
KEY_SUFFIX = ".pem"
METADATA_SUFFIX = ".json"
PRIVATE_BITS = 0o077  # any permission for group or others


class SigningKeyError(Exception):
    """The key directory or one of its files is missing, unreadable, or too open; the
    message names the path."""


@dataclass(frozen=True, slots=True)
class StoredKey:
    kid: str
    private: rsa.RSAPrivateKey
    signs_from: datetime | None  # None: signing since ever (no metadata)


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


def check_private(path: Path) -> None:
    """Refuse ``path`` if group or others have any permission on it."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror}"
        raise SigningKeyError(msg) from exc
    if mode & PRIVATE_BITS:
        wanted = "0700" if stat.S_ISDIR(mode) else "0600"
        msg = (
            f"{path} is open to group or others (mode {stat.S_IMODE(mode):04o}); "
            f"signing keys must be private: chmod {wanted} {path}"
        )
        raise SigningKeyError(msg)


def _entries(directory: Path) -> list[Path]:
    """The directory's visible files (dot-files are writes in progress)."""
    return sorted(p for p in directory.iterdir() if not p.name.startswith("."))


def fingerprint(directory: Path) -> tuple[tuple[str, int, int, int], ...]:
    """What changes whenever a key or its metadata is added, removed, rewritten or
    chmod-ed (ctime moves on both): re-reading the keys is needed only when this does."""
    rows = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            st = entry.stat()
            rows.append((entry.name, st.st_ino, st.st_ctime_ns, st.st_size))
    own = directory.stat()
    rows.append((".", own.st_ino, own.st_ctime_ns, own.st_size))
    return tuple(sorted(rows))


def _load_pem(path: Path) -> rsa.RSAPrivateKey:
    check_private(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        msg = f"cannot read the signing key {path}: {exc}"
        raise SigningKeyError(msg) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        msg = f"signing key {path} is not an RSA private key"
        raise SigningKeyError(msg)
    kid = public_jwk(key.public_key())["kid"]
    if path.name != f"{kid}{KEY_SUFFIX}":
        # the name is how rotation metadata and operators find a key: a renamed or
        # mis-copied file would silently get the wrong activation time
        msg = f"signing key {path} must be named {kid}{KEY_SUFFIX} (its RFC 7638 thumbprint)"
        raise SigningKeyError(msg)
    return key


def _load_signs_from(path: Path) -> datetime | None:
    if not path.exists():
        return None
    check_private(path)
    try:
        signs_from = datetime.fromisoformat(json.loads(path.read_text())["signs_from"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = f'cannot read {path}: expected {{"signs_from": "<ISO 8601 time>"}} ({exc})'
        raise SigningKeyError(msg) from exc
    if signs_from.tzinfo is None:
        msg = f"{path}: signs_from must carry a UTC offset"
        raise SigningKeyError(msg)
    return signs_from


def read_keys(directory: Path) -> list[StoredKey]:
    """Every key in ``directory`` (at least one), its mode and every file's checked."""
    keys = stored_keys(directory)
    if not keys:
        msg = (
            f"signing key directory {directory} holds no key; "
            "add one with `playball auth keys rotate --now`"
        )
        raise SigningKeyError(msg)
    return keys


def stored_keys(directory: Path) -> list[StoredKey]:
    """Every key in ``directory``, maybe none; its mode and every file's checked."""
    if not directory.is_dir():
        msg = f"signing key directory {directory} does not exist"
        raise SigningKeyError(msg)
    check_private(directory)
    keys = []
    try:
        names = _entries(directory)
    except OSError as exc:
        msg = f"cannot list {directory}: {exc.strerror}"
        raise SigningKeyError(msg) from exc
    for path in names:
        check_private(path)  # metadata and strays too: nothing in here may be open
        if path.suffix != KEY_SUFFIX:
            continue
        private = _load_pem(path)
        keys.append(
            StoredKey(
                kid=path.stem,
                private=private,
                signs_from=_load_signs_from(path.with_suffix(METADATA_SUFFIX)),
            )
        )
    return keys


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_new(directory: Path, name: str, data: bytes) -> None:
    """Create ``directory/name`` (0600) atomically; never replaces an existing file."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".new-")  # created 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.link(tmp, directory / name)
    finally:
        Path(tmp).unlink()


def add_key(directory: Path, signs_from: datetime | None, *, bits: int = KEY_BITS) -> StoredKey:
    """A new key in ``directory``, signing from ``signs_from`` (None: no metadata)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    kid = public_jwk(key.public_key())["kid"]
    if signs_from is not None:
        metadata = json.dumps({"signs_from": signs_from.isoformat()}).encode()
        _write_new(directory, f"{kid}{METADATA_SUFFIX}", metadata)
    _write_new(directory, f"{kid}{KEY_SUFFIX}", _pem(key))
    return StoredKey(kid=kid, private=key, signs_from=signs_from)


def remove_key(directory: Path, kid: str) -> None:
    """Delete a key: its PEM first, so the key is gone before its metadata is."""
    for suffix in (KEY_SUFFIX, METADATA_SUFFIX):
        (directory / f"{kid}{suffix}").unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class Rotated:
    kid: str
    signs_from: datetime
    removed: list[str]


def rotate(
    directory: Path,
    *,
    now: datetime,
    signs_from: datetime,
    keep_retired: timedelta,
    bits: int = KEY_BITS,
) -> Rotated:
    """Add a key signing from ``signs_from``, and delete the keys that stopped signing
    more than ``keep_retired`` before ``now`` (beyond any token's lifetime, so no
    verifier can need them: their files are only a leak risk)."""
    times = [KeyTimes(k.kid, k.signs_from) for k in stored_keys(directory)]
    added = add_key(directory, signs_from, bits=bits)
    removed = prunable([*times, KeyTimes(added.kid, signs_from)], now, older_than=keep_retired)
    for kid in removed:
        remove_key(directory, kid)
    return Rotated(kid=added.kid, signs_from=signs_from, removed=removed)


def ensure_development_directory(path: Path, *, bits: int = KEY_BITS) -> bool:
    """Create ``path`` (0700) holding a first key, unless it already exists with keys;
    True if it was created.

    The directory is built aside and renamed into place, which is atomic and fails if
    another process got there first: two processes starting together end up with the
    same key.
    """
    try:
        if path.is_dir() and any(p.suffix == KEY_SUFFIX for p in _entries(path)):
            return False
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}-"))  # 0700
    except OSError as exc:
        msg = f"cannot create the development key directory {path}: {exc}"
        raise SigningKeyError(msg) from exc
    try:
        add_key(staging, None, bits=bits)
        # replaces a missing or empty directory; fails if one with keys is there
        with contextlib.suppress(OSError):
            staging.rename(path)
            return True
        return False
    finally:
        shutil.rmtree(staging, ignore_errors=True)
