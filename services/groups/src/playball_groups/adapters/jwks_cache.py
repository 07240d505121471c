"""How long auth's key set is kept and when it is fetched again: the policy half of the
JWKS client, apart from the transport (:mod:`.jwks_fetch`) and the parsing
(:mod:`.jwks_keys`).

- **Stale beats nothing.** A failed fetch (auth unreachable, an error status, junk, an
  empty set) keeps the last good set and is logged; tokens signed with its keys keep
  verifying for ``max_stale`` (24 h) after it was fetched. Past that, or before any
  fetch succeeded, there is nothing to verify with: :class:`TokenKeysUnavailableError`
  (the API's 503), never a 401 for a token that may be fine.
- **Refresh.** A set older than ``refresh_interval`` is fetched again; a token naming a
  ``kid`` the set lacks (a rotated key, or a forged kid) forces a fetch too. Either
  starts at most once per ``refresh_cooldown`` (30 s) after the last attempt, so forged
  kids and a down auth cost auth at most one request per cooldown. With no set at all,
  attempts are spaced by ``no_keys_retry`` instead (1 s): nothing can be served until one
  succeeds, and a fetch per second is still no flood.
- **Single flight, no lock across I/O.** One fetch runs at a time, done by the request
  that found it due. The mutex guards only the bookkeeping, never the fetch: the others
  go on with the current set, and only those that cannot (no set, or their ``kid`` is
  not in it) wait for the fetch in flight, for at most ``wait_timeout``.

``clock`` (monotonic seconds) is injectable, so the policy is tested without waiting.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from jwt import PyJWK

from playball_groups.adapters.jwks_keys import KeySet, KeySetError
from playball_groups.service_layer.tokens import InvalidTokenError, TokenKeysUnavailableError

_log = logging.getLogger(__name__)

REFRESH_INTERVAL = 300.0  # auth publishes a new key 330 s before it signs with it
REFRESH_COOLDOWN = 30.0
MAX_STALE = 24 * 3600.0
NO_KEYS_RETRY = 1.0


@dataclass(frozen=True)
class _Snapshot:
    """A key set and when it was fetched; replaced whole, never changed, so readers need
    no lock."""

    keys: KeySet
    fetched_at: float


class JwksCache:
    def __init__(
        self,
        load: Callable[[], KeySet],
        *,
        refresh_interval: float = REFRESH_INTERVAL,
        refresh_cooldown: float = REFRESH_COOLDOWN,
        max_stale: float = MAX_STALE,
        no_keys_retry: float = NO_KEYS_RETRY,
        wait_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``load`` fetches and parses the set, raising :class:`KeySetError`."""
        self._load = load
        self._refresh_interval = refresh_interval
        self._refresh_cooldown = refresh_cooldown
        self._max_stale = max_stale
        self._no_keys_retry = no_keys_retry
        self._wait_timeout = wait_timeout
        self._clock = clock
        self._snapshot: _Snapshot | None = None
        self._last_failed = False  # did the latest fetch fail? (so: is auth's set unknown)
        self._mutex = threading.Lock()  # guards the two below; never held across a fetch
        self._in_flight: threading.Event | None = None  # set when the running fetch ends
        self._last_attempt: float | None = None

    def key(self, kid: str) -> PyJWK:
        """The key ``kid`` names. Raises :class:`InvalidTokenError` when auth's current
        set (fetched within the cooldown) lacks it, :class:`TokenKeysUnavailableError`
        when no usable set is at hand or the key may be in one that cannot be fetched."""
        if self._usable() is None:
            self._refresh(self._no_keys_retry, wait=True)
        elif self._clock() - self._fetched_at() >= self._refresh_interval:
            self._refresh(self._refresh_cooldown, wait=False)
        snapshot = self._usable()
        if snapshot is None:
            raise TokenKeysUnavailableError(self._why_none())
        key = snapshot.keys.get(kid)
        if key is not None:
            return key
        settled = self._refresh(self._refresh_cooldown, wait=True)
        snapshot = self._usable()
        key = snapshot.keys.get(kid) if snapshot is not None else None
        if key is not None:
            return key
        if snapshot is None or self._last_failed or not settled:
            # auth cannot be asked right now: the key may well be a new, genuine one
            raise TokenKeysUnavailableError(f"key {kid!r:.80} is unknown and auth cannot be asked")
        raise InvalidTokenError(f"key {kid!r:.80} is not in auth's key set")

    def _usable(self) -> _Snapshot | None:
        snapshot = self._snapshot
        if snapshot is None or self._clock() - snapshot.fetched_at >= self._max_stale:
            return None
        return snapshot

    def _fetched_at(self) -> float:
        snapshot = self._snapshot
        return snapshot.fetched_at if snapshot is not None else float("-inf")

    def _why_none(self) -> str:
        if self._snapshot is None:
            return "no key set has been fetched from auth yet"
        return f"the last key set fetched from auth is older than {self._max_stale:.0f} s"

    def _refresh(self, cooldown: float, *, wait: bool) -> bool:
        """Fetch unless a fetch ran within ``cooldown``; if one is already running, wait
        for it (bounded) when ``wait``, else return at once. False when a fetch is still
        running: the set at hand may be about to change."""
        with self._mutex:
            in_flight = self._in_flight
            leading = in_flight is None and (
                self._last_attempt is None or self._clock() - self._last_attempt >= cooldown
            )
            if leading:
                in_flight = self._in_flight = threading.Event()
                self._last_attempt = self._clock()
        if in_flight is None:
            return True
        if not leading:
            return wait and in_flight.wait(self._wait_timeout)
        try:
            self._fetch()
        finally:
            with self._mutex:
                self._in_flight = None
            in_flight.set()
        return True

    def _fetch(self) -> None:
        try:
            keys = self._load()
        except KeySetError as exc:
            self._last_failed = True
            kept = self._usable()
            if kept is None:
                _log.warning("no usable key set from auth: %s", exc)
            else:
                age = self._clock() - kept.fetched_at
                _log.warning(
                    "auth's key set could not be refreshed (%s); keeping the one fetched "
                    "%.0f s ago, usable for %.0f s more",
                    exc,
                    age,
                    self._max_stale - age,
                )
            return
        if self._last_failed:
            _log.info("auth's key set fetched again: %d keys", len(keys))
        self._snapshot = _Snapshot(keys, self._clock())
        self._last_failed = False
