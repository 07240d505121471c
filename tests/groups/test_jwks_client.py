"""The groups JWKS client degrades well: a loopback JWKS server (``support.tokens``) that
answers junk, an empty set, an error, or nothing at all never costs a valid token its
200; the last good set serves for 24 h; an unknown ``kid`` refetches at most once per
30 s; one fetch at a time, and no lock that other verifications wait on; with no set at
all the API answers 503 ``auth_unavailable`` with Retry-After.

The cache's clock is injected: refresh, cooldown and expiry are tested without waiting.
Threads are awaited through futures, and the server's state polled, with a deadline:
never by sleeping a guessed time.
"""

import base64
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm
from playball_groups.adapters.jwks import JwksTokenVerifier
from playball_groups.adapters.jwks_cache import (
    MAX_STALE,
    NO_KEYS_RETRY,
    REFRESH_COOLDOWN,
    REFRESH_INTERVAL,
)
from playball_groups.adapters.jwks_fetch import MAX_JWKS_BYTES
from playball_groups.entrypoints.api import create_app
from playball_groups.service_layer.tokens import InvalidTokenError, TokenKeysUnavailableError
from support.stack_env import wait_for
from support.tokens import AUDIENCE, Issuer, SigningKey, jwks_server

from groups.fakes import FakeUnitOfWork, Store

DEADLINE = 10.0  # seconds a thread may take before the test calls it stuck


class Clock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def server() -> Iterator[Issuer]:
    with jwks_server() as issuer:
        yield issuer


@pytest.fixture
def clock() -> Clock:
    return Clock()


def verifier_for(issuer: Issuer, clock: Clock, timeout: float = 5.0) -> JwksTokenVerifier:
    return JwksTokenVerifier(
        f"{issuer.url}/.well-known/jwks.json",
        issuer=issuer.url,
        audience=AUDIENCE,
        timeout=timeout,
        clock=clock,
    )


def until(what: str, condition: Callable[[], bool]) -> None:
    wait_for(condition, what, DEADLINE)


def _jwks(*entries: dict[str, Any]) -> bytes:
    return json.dumps({"keys": list(entries)}).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# One key for every unusable entry below: they are built when each worker collects this
# module, and an RSA key costs ~35 ms to make
STRANGER = SigningKey()


def _rsa_public(kid: str, **fields: Any) -> dict[str, Any]:
    jwk = STRANGER.jwk()
    jwk.update(kid=kid, **fields)
    return jwk


def _rsa_private(kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(STRANGER.private))
    jwk.update(kid=kid, use="sig", alg="RS256")
    return jwk


# Entries a JWKS client must skip without failing: none is an RS256 public key by kid.
UNUSABLE_KEYS = [
    {"kty": "EC", "crv": "P-256", "kid": "ec", "x": "AA", "y": "AA"},
    {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
    _rsa_public("", alg="RS256"),
    {**_rsa_public("no-kid"), "kid": None},
    _rsa_public("rs512", alg="RS512"),
    _rsa_public("encryption", use="enc"),
    _rsa_private("private"),  # a private key in a JWKS: PyJWT cannot verify with it
    {"kty": "RSA", "kid": "numbers", "n": 5, "e": 3},
    {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
    {"kty": "RSA", "kid": "1024 bits", "n": _b64(b"\xff" * 128), "e": "AQAB"},
    {"kty": "RSA", "kid": "8800 bits", "n": _b64(b"\xff" * 1100), "e": "AQAB"},
    "not an object",
]

JUNK = {
    "not JSON": (200, b"<html>auth is restarting</html>"),
    "empty body": (200, b""),
    "empty key set": (200, _jwks()),
    "a list, not an object": (200, json.dumps([STRANGER.jwk()]).encode()),
    "keys not a list": (200, json.dumps({"keys": STRANGER.jwk()}).encode()),
    "no usable RSA key": (200, json.dumps({"keys": UNUSABLE_KEYS}).encode()),
    "nested too deep": (200, b"[" * 100_000),
    "too large": (200, b'{"keys": [' + b" " * MAX_JWKS_BYTES + b"]}"),
    "server error": (500, b'{"keys": []}'),
    "not found": (404, b"no such thing"),
}


@pytest.mark.parametrize("answer", JUNK.values(), ids=JUNK.keys())
def test_a_junk_answer_keeps_the_last_good_set_and_is_logged(
    server: Issuer, clock: Clock, answer: tuple[int, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    verifier, user = verifier_for(server, clock), uuid.uuid4()
    assert verifier.caller(server.token(user)) == user
    server.answer = answer
    clock.advance(REFRESH_INTERVAL)  # the set is due for a refresh
    with caplog.at_level(logging.WARNING, logger="playball_groups.adapters.jwks_cache"):
        assert verifier.caller(server.token(user)) == user
    assert server.fetches == 2  # the junk was fetched, and did not replace the set
    assert any("keeping the one fetched" in r.getMessage() for r in caplog.records)


def test_auth_down_keeps_the_last_good_set(clock: Clock) -> None:
    user = uuid.uuid4()
    with jwks_server() as issuer:
        verifier = verifier_for(issuer, clock)
        assert verifier.caller(issuer.token(user)) == user
    # the server is closed: nothing listens on its port any more
    clock.advance(REFRESH_INTERVAL)
    assert verifier.caller(issuer.token(user)) == user
    # a kid the kept set lacks may be a new, genuine key: not a 401 while auth is away
    with pytest.raises(TokenKeysUnavailableError):
        verifier.caller(issuer.token(user, key=SigningKey()))


def test_junk_entries_beside_a_good_key_cost_only_themselves(server: Issuer, clock: Clock) -> None:
    server.answer = (200, json.dumps({"keys": [*UNUSABLE_KEYS, server.key.jwk()]}).encode())
    user = uuid.uuid4()
    assert verifier_for(server, clock).caller(server.token(user)) == user


def test_an_unknown_kid_refetches_at_most_once_per_30_s(server: Issuer, clock: Clock) -> None:
    verifier, user = verifier_for(server, clock), uuid.uuid4()
    assert verifier.caller(server.token(user)) == user
    assert server.fetches == 1

    clock.advance(REFRESH_COOLDOWN)  # that first fetch counts too
    with pytest.raises(InvalidTokenError):  # a forged kid: auth is asked once ...
        verifier.caller(server.token(user, key=SigningKey()))
    assert server.fetches == 2
    with pytest.raises(InvalidTokenError):  # ... and not again within the cooldown
        verifier.caller(server.token(user, key=SigningKey()))
    assert server.fetches == 2

    rotated = SigningKey()
    server.keys.append(rotated)
    clock.advance(REFRESH_COOLDOWN - 1)
    with pytest.raises(InvalidTokenError):  # still within it: the price of the cooldown
        verifier.caller(server.token(user, key=rotated))
    assert server.fetches == 2
    clock.advance(1)
    assert verifier.caller(server.token(user, key=rotated)) == user
    assert verifier.caller(server.token(user)) == user  # the old key is still served
    assert server.fetches == 3


def test_the_set_is_refreshed_periodically(server: Issuer, clock: Clock) -> None:
    verifier, user = verifier_for(server, clock), uuid.uuid4()
    assert verifier.caller(server.token(user)) == user
    clock.advance(REFRESH_INTERVAL - 1)
    assert verifier.caller(server.token(user)) == user
    assert server.fetches == 1
    clock.advance(1)
    assert verifier.caller(server.token(user)) == user
    assert server.fetches == 2


def test_a_failed_refresh_is_retried_after_the_cooldown(server: Issuer, clock: Clock) -> None:
    verifier, user = verifier_for(server, clock), uuid.uuid4()
    assert verifier.caller(server.token(user)) == user
    server.answer = (503, b"")
    clock.advance(REFRESH_INTERVAL)
    assert verifier.caller(server.token(user)) == user
    assert verifier.caller(server.token(user)) == user
    assert server.fetches == 2  # not once per request while auth is failing
    clock.advance(REFRESH_COOLDOWN)
    assert verifier.caller(server.token(user)) == user
    assert server.fetches == 3


def test_a_set_older_than_24_h_is_no_longer_used(server: Issuer, clock: Clock) -> None:
    verifier, user = verifier_for(server, clock), uuid.uuid4()
    token = server.token(user)
    assert verifier.caller(token) == user
    server.answer = (200, b"junk")
    clock.advance(MAX_STALE - 1)
    assert verifier.caller(token) == user
    clock.advance(1)
    with pytest.raises(TokenKeysUnavailableError, match="older than"):
        verifier.caller(token)
    app = create_app(lambda: FakeUnitOfWork(Store()), verifier)
    with TestClient(app) as client:
        answer = client.get("/groups", headers={"Authorization": f"Bearer {token}"})
    assert (answer.status_code, answer.json()["code"]) == (503, "auth_unavailable")

    server.answer = None  # auth is back
    clock.advance(NO_KEYS_RETRY)
    assert verifier.caller(token) == user


def _get_groups(verifier: JwksTokenVerifier, token: str) -> tuple[Any, dict[str, Any]]:
    """GET /groups with ``token``, and the OpenAPI document, from an app on ``verifier``."""
    app = create_app(lambda: FakeUnitOfWork(Store()), verifier)
    with TestClient(app) as client:
        answer = client.get("/groups", headers={"Authorization": f"Bearer {token}"})
        return answer, client.get("/openapi.json").json()


@pytest.mark.parametrize("auth", ["down", "junk"])
def test_no_set_ever_is_503_auth_unavailable_with_retry_after(clock: Clock, auth: str) -> None:
    with jwks_server() as issuer:
        issuer.answer = (200, b"<html>")
        if auth == "junk":
            answer, declared = _get_groups(verifier_for(issuer, clock), issuer.token(uuid.uuid4()))
    if auth == "down":  # the server is closed: nothing listens on its port
        answer, declared = _get_groups(verifier_for(issuer, clock), issuer.token(uuid.uuid4()))
    assert answer.status_code == 503, answer.text
    assert answer.json() == {
        "detail": "the auth service's signing keys are unavailable; retry later",
        "code": "auth_unavailable",
    }
    assert int(answer.headers["Retry-After"]) > 0
    assert "127.0.0.1" not in answer.text and "jwks" not in answer.text.lower()
    assert "Retry-After" in declared["paths"]["/groups"]["get"]["responses"]["503"]["headers"]


def test_a_redirect_is_not_followed(server: Issuer, clock: Clock) -> None:
    """Keys are taken only where they are configured, not wherever a redirect points."""
    with jwks_server() as elsewhere:
        server.answer, server.location = (302, b""), f"{elsewhere.url}/.well-known/jwks.json"
        with pytest.raises(TokenKeysUnavailableError):
            verifier_for(server, clock).caller(elsewhere.token(uuid.uuid4()))
        assert (server.fetches, elsewhere.fetches) == (1, 0)


def test_a_slow_refresh_does_not_hold_up_other_verifications(server: Issuer, clock: Clock) -> None:
    # the held fetch must outlast the test's checks, not time out by itself
    verifier, ada, bob = verifier_for(server, clock, timeout=60), uuid.uuid4(), uuid.uuid4()
    assert verifier.caller(server.token(ada)) == ada
    server.hold = threading.Event()
    clock.advance(REFRESH_INTERVAL)  # due: the next verification fetches
    with ThreadPoolExecutor(3) as pool:
        try:
            refreshing = pool.submit(verifier.caller, server.token(ada))
            until("the refresh reached the server", lambda: server.fetches == 2)
            # due as well, but a fetch is running: these go on with the set at hand
            others = [pool.submit(verifier.caller, server.token(u)) for u in (ada, bob)]
            assert [f.result(timeout=DEADLINE) for f in others] == [ada, bob]
            assert not refreshing.done()  # the fetch was still held all along
        finally:
            server.hold.set()
        assert refreshing.result(timeout=DEADLINE) == ada
    assert server.fetches == 2  # one fetch at a time


def test_with_no_set_requests_wait_for_the_fetch_in_flight(server: Issuer, clock: Clock) -> None:
    verifier, ada, bob = verifier_for(server, clock, timeout=60), uuid.uuid4(), uuid.uuid4()
    server.hold = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        try:
            first = pool.submit(verifier.caller, server.token(ada))
            until("the first fetch reached the server", lambda: server.fetches == 1)
            second = pool.submit(verifier.caller, server.token(bob))
        finally:
            server.hold.set()
        assert (first.result(timeout=DEADLINE), second.result(timeout=DEADLINE)) == (ada, bob)
    assert server.fetches == 1


def test_with_no_set_the_wait_for_a_fetch_in_flight_is_bounded(
    server: Issuer, clock: Clock
) -> None:
    verifier = verifier_for(server, clock, timeout=0.5)
    server.hold = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        try:
            first = pool.submit(verifier.caller, server.token(uuid.uuid4()))
            until("the first fetch reached the server", lambda: server.fetches == 1)
            second = pool.submit(verifier.caller, server.token(uuid.uuid4()))
            for waiting in (first, second):
                with pytest.raises(TokenKeysUnavailableError):
                    waiting.result(timeout=DEADLINE)
        finally:
            server.hold.set()
    assert server.fetches == 1
