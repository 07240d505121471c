"""Which signing key signs and which are published, at a given time: pure, clock injected.

Every key has a time it signs from (``None``: since ever). Ordered by that time:

- the **signing** key is the last one whose time has come (if none has, the first one:
  a directory whose only keys are still "to come" must sign with something);
- keys still to come are **next**: published at once, so every verifier has fetched them
  before they sign (``keys rotate`` sets their time ``PLAYBALL_AUTH_KEY_PUBLISH_DELAY``
  ahead, longer than a verifier's JWKS cache);
- a key that signed before stopped when its successor took over. It stays published
  until the longest token it may have signed is past its expiry plus the verifiers'
  clock leeway (``stopped + token lifetime + GRACE``), then it is **retired**: dropped
  from the JWKS. Two keys without a time cannot be ordered in time, so the one not
  signing stays published rather than be guessed retired.
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

GRACE = timedelta(seconds=30)  # the verifiers' clock leeway: a token lives that long past exp
_SINCE_EVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class KeyTimes:
    kid: str
    signs_from: datetime | None  # None: since ever


@dataclass(frozen=True, slots=True)
class Schedule:
    signing: str
    published: tuple[str, ...]  # the signing key first, then the next, then the retiring


def _ordered(keys: Sequence[KeyTimes]) -> list[KeyTimes]:
    # kid breaks ties, so every process reading the same directory picks the same key
    return sorted(keys, key=lambda k: (k.signs_from or _SINCE_EVER, k.kid))


def _started(key: KeyTimes, now: datetime) -> bool:
    return key.signs_from is None or key.signs_from <= now


def stopped_signing(keys: Sequence[KeyTimes], now: datetime) -> dict[str, datetime | None]:
    """For each key that no longer signs at ``now``: when it stopped (its successor's
    time; None when that successor has no time either)."""
    started = [k for k in _ordered(keys) if _started(k, now)]
    return {k.kid: after.signs_from for k, after in itertools.pairwise(started)}


def schedule(keys: Sequence[KeyTimes], now: datetime, *, token_lifetime: timedelta) -> Schedule:
    if not keys:
        msg = "no signing key"
        raise ValueError(msg)
    ordered = _ordered(keys)
    started = [k for k in ordered if _started(k, now)]
    signing = started[-1] if started else ordered[0]
    upcoming = [k.kid for k in ordered if not _started(k, now) and k is not signing]
    retiring = [
        kid
        for kid, stopped in reversed(stopped_signing(keys, now).items())
        if stopped is None or now < stopped + token_lifetime + GRACE
    ]
    return Schedule(signing=signing.kid, published=(signing.kid, *upcoming, *retiring))


def next_change(
    keys: Sequence[KeyTimes], now: datetime, *, token_lifetime: timedelta
) -> datetime | None:
    """The first moment after ``now`` at which :func:`schedule` may answer differently
    (None: never, the keys staying as they are). A key changes the plan when it starts
    signing and when the key it replaced retires, ``token_lifetime + GRACE`` later."""
    times = [k.signs_from for k in keys if k.signs_from is not None]
    later = [t for time in times for t in (time, time + token_lifetime + GRACE) if t > now]
    return min(later, default=None)


def prunable(keys: Sequence[KeyTimes], now: datetime, *, older_than: timedelta) -> list[str]:
    """The keys that stopped signing more than ``older_than`` ago: safe to delete once
    that is beyond any token lifetime a verifier may still accept."""
    return [
        kid
        for kid, stopped in stopped_signing(keys, now).items()
        if stopped is not None and stopped + older_than < now
    ]
