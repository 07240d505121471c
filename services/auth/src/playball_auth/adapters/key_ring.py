"""The keys a running process signs and verifies with, kept current with their directory.

:class:`DirectoryKeyRing` re-reads the key directory when it changed, checking at most
every ``recheck_seconds`` (a stat of a few files, cheap enough for every request path,
JWKS included), so ``playball auth keys rotate`` reaches a running ``serve`` within
seconds, without a restart. Which key signs and which are published is then decided
from the clock (:mod:`key_rotation`): a key takes over or retires on time even when
nothing on disk changes. The answer is kept until the clock reaches the next moment it
can change (:func:`key_rotation.next_change`), rather than worked out on every call,
which every request with a token makes.

A directory that turns bad while the process runs (a file made group-readable, a
half-copied key) is logged and the keys last read stay in use: refusing every request
would be an outage, while the bad state is refused loudly at the next start.
"""

import abc
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

from cryptography.hazmat.primitives.asymmetric import rsa

from playball_auth.adapters.key_rotation import KeyTimes, next_change, schedule
from playball_auth.adapters.signing_keys import (
    SigningKeyError,
    StoredKey,
    fingerprint,
    public_jwk,
    read_keys,
)

log = logging.getLogger(__name__)

RECHECK_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class PublicKey:
    kid: str
    key: rsa.RSAPublicKey
    jwk: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class KeySet:
    """The keys at one moment: the one to sign with, and every published one by kid."""

    signing_kid: str
    signing_key: rsa.RSAPrivateKey
    published: Mapping[str, PublicKey]  # in JWKS order, the signing key first


class KeyRing(abc.ABC):
    @abc.abstractmethod
    def current(self) -> KeySet: ...


def _public(key: rsa.RSAPrivateKey) -> PublicKey:
    public = key.public_key()
    jwk = public_jwk(public)
    return PublicKey(kid=jwk["kid"], key=public, jwk=MappingProxyType(jwk))


class StaticKeyRing(KeyRing):
    """One key, signing forever (tests; a process that never rotates)."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        public = _public(key)
        self._keys = KeySet(public.kid, key, MappingProxyType({public.kid: public}))

    def current(self) -> KeySet:
        return self._keys


@dataclass(frozen=True, slots=True)
class _Planned:
    """A key set worked out at ``since`` for keys ``of``, good until ``until``."""

    of: "_Loaded"
    keys: KeySet
    since: datetime
    until: datetime | None  # None: for as long as the keys stay


@dataclass(frozen=True, slots=True)
class _Loaded:
    private: Mapping[str, rsa.RSAPrivateKey]
    public: Mapping[str, PublicKey]
    times: tuple[KeyTimes, ...]


def _loaded(keys: list[StoredKey]) -> _Loaded:
    return _Loaded(
        private={k.kid: k.private for k in keys},
        public={k.kid: _public(k.private) for k in keys},
        times=tuple(KeyTimes(k.kid, k.signs_from) for k in keys),
    )


class DirectoryKeyRing(KeyRing):
    def __init__(
        self,
        directory: Path,
        *,
        token_lifetime: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        recheck_seconds: float = RECHECK_SECONDS,
    ) -> None:
        """Reads the keys now: raises SigningKeyError for a missing, empty or open
        directory, or a bad file in it."""
        self._directory = directory
        self._lifetime = token_lifetime
        self._clock = clock
        self._monotonic = monotonic
        self._recheck = recheck_seconds
        self._lock = threading.Lock()
        try:  # taken before the keys are read, so a change meanwhile is seen next time
            self._seen = fingerprint(directory)
        except OSError:
            self._seen = ()  # read_keys names what is wrong with the directory
        self._keys = _loaded(read_keys(directory))
        self._planned: _Planned | None = None
        self._checked = monotonic()

    def _refresh(self) -> None:
        with self._lock:
            if self._monotonic() - self._checked < self._recheck:
                return  # another thread checked meanwhile
            self._checked = self._monotonic()
            try:
                seen = fingerprint(self._directory)
                if seen == self._seen:
                    return
                keys = _loaded(read_keys(self._directory))
            except (OSError, SigningKeyError) as exc:
                log.error("keeping the signing keys last read: %s", exc)
                return
            self._seen, self._keys = seen, keys
            log.info("signing keys re-read from %s: %s", self._directory, sorted(keys.public))

    def current(self) -> KeySet:
        if self._monotonic() - self._checked >= self._recheck:
            self._refresh()
        keys = self._keys  # one consistent snapshot, even if another thread swaps it
        now = self._clock()
        planned = self._planned
        if (
            planned is not None
            and planned.of is keys
            and planned.since <= now  # a clock set back is worked out again
            and (planned.until is None or now < planned.until)
        ):
            return planned.keys
        plan = schedule(keys.times, now, token_lifetime=self._lifetime)
        found = KeySet(
            signing_kid=plan.signing,
            signing_key=keys.private[plan.signing],
            # read-only: every caller until the next change shares it
            published=MappingProxyType({kid: keys.public[kid] for kid in plan.published}),
        )
        until = next_change(keys.times, now, token_lifetime=self._lifetime)
        self._planned = _Planned(keys, found, now, until)  # one assignment: thread-safe
        return found
