"""Key rotation as a state machine, on an injected clock: which key signs, which are
published, when the next key takes over and when the old one retires; and a running
process's key ring following its directory."""

import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from playball_auth.adapters.key_ring import DirectoryKeyRing
from playball_auth.adapters.key_rotation import GRACE, KeyTimes, next_change, schedule
from playball_auth.adapters.signing_keys import add_key, ensure_development_directory, read_keys
from playball_auth.adapters.tokens_jwt import JwtAccessTokens
from playball_auth.service_layer.ports import InvalidTokenError

T0 = datetime(2030, 1, 1, tzinfo=UTC)
DELAY = timedelta(seconds=330)
LIFETIME = timedelta(seconds=300)
SECOND = timedelta(seconds=1)


def _at(now: datetime, *keys: KeyTimes) -> tuple[str, tuple[str, ...]]:
    plan = schedule(keys, now, token_lifetime=LIFETIME)
    return plan.signing, plan.published


def test_a_lone_key_signs_with_or_without_a_time() -> None:
    assert _at(T0, KeyTimes("a", None)) == ("a", ("a",))
    assert _at(T0, KeyTimes("a", T0 + DELAY)) == ("a", ("a",))  # nothing else could sign


def test_the_next_key_is_published_first_signs_later_and_the_old_one_retires() -> None:
    old, new = KeyTimes("old", None), KeyTimes("new", T0 + DELAY)
    # published at once, but not signing before the delay
    assert _at(T0, old, new) == ("old", ("old", "new"))
    assert _at(T0 + DELAY - SECOND, old, new) == ("old", ("old", "new"))
    # signing from then on; the old key still verifies what it signed
    assert _at(T0 + DELAY, old, new) == ("new", ("new", "old"))
    retired_at = T0 + DELAY + LIFETIME + GRACE
    assert _at(retired_at - SECOND, old, new) == ("new", ("new", "old"))
    # ... until its last token has expired, plus the verifiers' leeway
    assert _at(retired_at, old, new) == ("new", ("new",))


def test_two_rotations_inside_the_delay_hand_over_in_turn() -> None:
    a = KeyTimes("a", None)
    b = KeyTimes("b", T0 + DELAY)
    c = KeyTimes("c", T0 + 10 * SECOND + DELAY)
    assert _at(T0 + 20 * SECOND, a, b, c) == ("a", ("a", "b", "c"))
    assert _at(T0 + DELAY, a, b, c) == ("b", ("b", "c", "a"))
    assert _at(c.signs_from or T0, a, b, c) == ("c", ("c", "b", "a"))
    # b signed for 10 s: it retires 10 s after a does
    a_retires = T0 + DELAY + LIFETIME + GRACE
    assert _at(a_retires, a, b, c) == ("c", ("c", "b"))
    assert _at(a_retires + 10 * SECOND, a, b, c) == ("c", ("c",))


def test_keys_without_times_all_stay_published() -> None:
    """Nothing says when one took over from the other: neither is guessed retired."""
    plan = schedule([KeyTimes("b", None), KeyTimes("a", None)], T0, token_lifetime=LIFETIME)
    assert plan.signing == "b"  # the same choice in every process: the order of kids
    assert set(plan.published) == {"a", "b"}


OFFSETS = st.integers(min_value=-2_000, max_value=2_000).map(lambda s: T0 + s * SECOND)
KEY_SETS = st.lists(st.one_of(st.none(), OFFSETS), min_size=1, max_size=5).map(
    lambda times: [KeyTimes(f"k{n}", time) for n, time in enumerate(times)]
)


@given(KEY_SETS, OFFSETS, st.floats(min_value=0, max_value=1, exclude_max=True))
def test_the_plan_holds_until_the_next_change(
    keys: list[KeyTimes], now: datetime, fraction: float
) -> None:
    """The key ring keeps a plan until next_change: the schedule must not move before."""
    until = next_change(keys, now, token_lifetime=LIFETIME)
    plan = schedule(keys, now, token_lifetime=LIFETIME)
    last = (until or now + 10 * DELAY) - timedelta(microseconds=1)
    for moment in (now + (last - now) * fraction, last):
        assert schedule(keys, moment, token_lifetime=LIFETIME) == plan, moment


def test_the_next_change_is_a_takeover_then_a_retirement_then_none() -> None:
    old, new = KeyTimes("old", None), KeyTimes("new", T0 + DELAY)
    assert next_change([old, new], T0, token_lifetime=LIFETIME) == T0 + DELAY
    retired_at = T0 + DELAY + LIFETIME + GRACE
    assert next_change([old, new], T0 + DELAY, token_lifetime=LIFETIME) == retired_at
    assert next_change([old, new], retired_at, token_lifetime=LIFETIME) is None


class Clocks:
    """The wall clock the schedule reads and the monotonic one pacing the re-reads."""

    def __init__(self) -> None:
        self.now = T0
        self.ticks = 0.0

    def wall(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.ticks


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    keys = tmp_path / "keys"
    ensure_development_directory(keys, bits=2048)
    return keys


def test_a_running_ring_follows_a_rotation_through_to_retirement(directory: Path) -> None:
    clocks = Clocks()
    ring = DirectoryKeyRing(
        directory,
        token_lifetime=LIFETIME,
        clock=clocks.wall,
        monotonic=clocks.monotonic,
        recheck_seconds=10,
    )
    tokens = JwtAccessTokens(ring, issuer="http://auth", ttl_seconds=300)
    (old,) = read_keys(directory)

    def signer() -> str:
        issued = tokens.issue(uuid.uuid4(), scope="groups", credentials_version=1)
        return str(jwt.get_unverified_header(issued.access_token)["kid"])

    def published() -> list[str]:
        return [key["kid"] for key in tokens.jwks()["keys"]]

    old_token = tokens.issue(uuid.uuid4(), scope="groups", credentials_version=1).access_token
    new = add_key(directory, T0 + DELAY, bits=2048)  # what `keys rotate` does
    assert published() == [old.kid]  # the directory is re-read every 10 s, not on each call
    clocks.ticks += 10
    assert published() == [old.kid, new.kid]
    assert signer() == old.kid  # published, but verifiers may not have it yet

    clocks.now = T0 + DELAY
    assert signer() == new.kid
    new_token = tokens.issue(uuid.uuid4(), scope="groups", credentials_version=1).access_token
    assert published() == [new.kid, old.kid]
    for token in (old_token, new_token):  # the overlap: both verify
        tokens.verify(token, scope="groups")

    clocks.now = T0 + DELAY + LIFETIME + GRACE  # no file changed: the clock retires it
    assert published() == [new.kid]
    with pytest.raises(InvalidTokenError, match="unknown kid"):
        tokens.verify(old_token, scope="groups")
    tokens.verify(new_token, scope="groups")


def test_a_directory_gone_bad_keeps_the_keys_last_read(
    directory: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clocks = Clocks()
    ring = DirectoryKeyRing(
        directory, token_lifetime=LIFETIME, clock=clocks.wall, monotonic=clocks.monotonic
    )
    (key,) = read_keys(directory)
    added = add_key(directory, None, bits=2048)
    (directory / f"{added.kid}.pem").chmod(0o644)
    clocks.ticks += 10
    with caplog.at_level(logging.ERROR):
        assert list(ring.current().published) == [key.kid]
    assert str(directory / f"{added.kid}.pem") in caplog.text

    (directory / f"{added.kid}.pem").chmod(0o600)  # fixed: taken up at the next check
    clocks.ticks += 10
    assert set(ring.current().published) == {key.kid, added.kid}
