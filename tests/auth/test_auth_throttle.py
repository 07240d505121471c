"""Login throttling through the API, on the fakes, SQLite and PostgreSQL: per account,
per client address (the socket peer, or X-Forwarded-For behind a trusted proxy).

The clock is a fake one: locks and windows are crossed by moving it, never by waiting.
Two real API processes sharing one count are in test_auth_processes.py.
"""

import dataclasses
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import ip_network
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playball_auth.adapters.orm_sql import login_failures_by_address, login_throttle_accounts
from playball_auth.domain.throttle import ThrottlePolicy
from playball_auth.entrypoints.api import create_app
from playball_auth.entrypoints.client_address import client_address
from playball_auth.service_layer.ports import AuthPorts
from playball_auth.settings import AuthSettings
from sqlalchemy import func, select
from support.auth_backends import AuthBackend, SqlBackend
from support.auth_fakes import CountingPasswordHasher, FakeClock

NEW_USER = {
    "username": "alice",
    "email": "alice@example.org",
    "password": "correct horse",
    "display_name": "Alice",
}
RIGHT = {"username": "alice", "password": "correct horse"}
WRONG = {"username": "alice", "password": "wrong horse!"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def counting(ports: AuthPorts) -> CountingPasswordHasher:
    return CountingPasswordHasher(ports.passwords)


@contextmanager
def app_client(
    ports: AuthPorts, peer: str = "testclient", **changes: object
) -> Iterator[TestClient]:
    """The API on ``ports`` with ``changes``, as seen from the socket address ``peer``."""
    app = create_app(dataclasses.replace(ports, **changes))  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False, client=(peer, 50000)) as client:
        yield client


@pytest.fixture
def client(
    ports: AuthPorts, backend: AuthBackend, clock: FakeClock, counting: CountingPasswordHasher
) -> Iterator[TestClient]:
    """The API with the default policy, the fake clock and a counting hasher."""
    with app_client(
        ports, clock=clock, passwords=counting, throttle=backend.throttle()
    ) as test_client:
        yield test_client


def assert_throttled(response: Any, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json() == {
        "detail": f"too many failed attempts; try again in {retry_after} s",
        "code": "too_many_attempts",
    }
    assert response.headers["retry-after"] == str(retry_after)


def test_the_default_policy_and_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = ThrottlePolicy()
    assert (policy.account_failures, policy.account_window_s) == (5, 900)
    assert policy.address_failures_per_min == 20
    assert [policy.lock_seconds(n) for n in (1, 4, 5, 6, 7, 14, 15, 40)] == [
        0, 0, 1, 2, 4, 512, 900, 900,
    ]  # fmt: skip
    settings = AuthSettings()
    assert (
        settings.auth_throttle_account_failures,
        settings.auth_throttle_account_window_s,
        settings.auth_throttle_address_failures_per_min,
    ) == (5, 900, 20)
    monkeypatch.setenv("PLAYBALL_AUTH_THROTTLE_ADDRESS_FAILURES_PER_MIN", "3")
    assert AuthSettings().auth_throttle_address_failures_per_min == 3


def test_five_failures_lock_the_account_even_for_the_right_password(
    client: TestClient, clock: FakeClock, counting: CountingPasswordHasher
) -> None:
    assert client.post("/users", json=NEW_USER).status_code == 201
    for _ in range(5):
        assert client.post("/token", data=WRONG).status_code == 401
    verified = counting.verified
    assert_throttled(client.post("/token", data=RIGHT), 1)
    assert_throttled(client.post("/token", data={**RIGHT, "username": "ALICE"}), 1)
    assert counting.verified == verified  # refused unverified...
    clock.advance(1)
    # ... and uncounted: the lock of the 5th failure (1 s) is over, the 6th doubles it
    assert client.post("/token", data=WRONG).status_code == 401
    assert_throttled(client.post("/token", data=RIGHT), 2)
    clock.advance(2)
    assert client.post("/token", data=RIGHT).status_code == 200
    # the success ended the run: four more failures lock nothing
    for _ in range(4):
        assert client.post("/token", data=WRONG).status_code == 401
    assert client.post("/token", data=RIGHT).status_code == 200


def test_the_lock_grows_to_15_minutes_and_a_failure_after_the_window_starts_over(
    client: TestClient, clock: FakeClock
) -> None:
    assert client.post("/users", json=NEW_USER).status_code == 201
    for n in range(1, 16):
        assert client.post("/token", data=WRONG).status_code == 401
        lock = min(900, 2 ** (n - 5)) if n >= 5 else 0
        if lock:
            assert_throttled(client.post("/token", data=RIGHT), lock)
        clock.advance(max(lock, 1))  # each failure within the window of the last
    clock.advance(900)  # a quarter of an hour without failures: the run is over
    for _ in range(4):
        assert client.post("/token", data=WRONG).status_code == 401
    assert client.post("/token", data=RIGHT).status_code == 200


def test_unknown_accounts_are_throttled_alike(client: TestClient) -> None:
    """Else the 429 would tell which usernames exist."""
    for _ in range(5):
        response = client.post("/token", data={**WRONG, "username": "nobody"})
        assert response.status_code == 401
    assert_throttled(client.post("/token", data={**WRONG, "username": "Nobody"}), 1)


def test_the_address_is_refused_after_its_limit_of_failures_a_minute(
    ports: AuthPorts, backend: AuthBackend, clock: FakeClock
) -> None:
    """A low limit (3) here; the default's count is tested on the adapters below."""
    throttle = backend.throttle(ThrottlePolicy(address_failures_per_min=3))
    attacker = app_client(ports, "203.0.113.5", clock=clock, throttle=throttle)
    other = app_client(ports, "198.51.100.7", clock=clock, throttle=throttle)
    with attacker as from_attacker, other as from_other:
        assert from_other.post("/users", json=NEW_USER).status_code == 201
        for name in ("bob", "carol"):  # other accounts each time: no account is locked
            assert from_attacker.post("/token", data={**WRONG, "username": name}).status_code == 401
            clock.advance(10)
        assert from_attacker.post("/token", data=WRONG).status_code == 401
        assert_throttled(from_attacker.post("/token", data=RIGHT), 40)  # first + 60 s
        assert from_other.post("/token", data=RIGHT).status_code == 200
        clock.advance(40)  # the first failure left the window
        assert from_attacker.post("/token", data=RIGHT).status_code == 200


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(
    ports: AuthPorts, backend: AuthBackend, clock: FakeClock
) -> None:
    throttle = backend.throttle(ThrottlePolicy(address_failures_per_min=2))
    proxies = (ip_network("10.0.0.0/8"),)
    behind_proxy = app_client(
        ports, "10.0.0.7", clock=clock, throttle=throttle, trusted_proxies=proxies
    )
    direct = app_client(ports, "192.0.2.1", clock=clock, throttle=throttle, trusted_proxies=proxies)
    with behind_proxy as proxied, direct as untrusted:
        assert proxied.post("/users", json=NEW_USER).status_code == 201
        attacker = {"X-Forwarded-For": "forged, 203.0.113.9"}
        for name in ("bob", "carol"):
            response = proxied.post("/token", data={**WRONG, "username": name}, headers=attacker)
            assert response.status_code == 401
        assert proxied.post("/token", data=RIGHT, headers=attacker).status_code == 429
        # the proxy's other clients are other addresses
        client = {"X-Forwarded-For": "198.51.100.1"}
        assert proxied.post("/token", data=RIGHT, headers=client).status_code == 200
        # a client talking to us directly cannot pick its address
        for name in ("dave", "erin"):
            response = untrusted.post(
                "/token", data={**WRONG, "username": name}, headers={"X-Forwarded-For": name}
            )
            assert response.status_code == 401
        forged = {"X-Forwarded-For": "198.51.100.1"}
        assert untrusted.post("/token", data=RIGHT, headers=forged).status_code == 429


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("192.0.2.1", [], "192.0.2.1"),
        ("192.0.2.1", ["203.0.113.9"], "192.0.2.1"),  # not a trusted proxy: ignored
        ("10.0.0.7", ["203.0.113.9"], "203.0.113.9"),
        ("10.0.0.7", ["198.51.100.1, 203.0.113.9"], "203.0.113.9"),  # the hop ours added
        ("10.0.0.7", ["203.0.113.9, 10.0.0.8"], "203.0.113.9"),  # through two proxies
        ("10.0.0.7", ["198.51.100.1", "203.0.113.9"], "203.0.113.9"),  # two headers
        ("10.0.0.7", ["10.0.0.9, 10.0.0.8"], "10.0.0.9"),  # only proxies: the first
        ("10.0.0.7", ["203.0.113.9, junk"], "10.0.0.7"),  # garbage: trust goes no further
        ("10.0.0.7", [], "10.0.0.7"),
        ("::ffff:192.0.2.1", [], "192.0.2.1"),
        ("2001:db8:1:2:3:4:5:6", [], "2001:db8:1:2::/64"),  # one subscriber, one count
        ("testclient", [], "testclient"),
    ],
)
def test_the_client_address(peer: str, forwarded: list[str], expected: str) -> None:
    assert client_address(peer, forwarded, (ip_network("10.0.0.0/8"),)) == expected


def test_the_default_address_limit_is_20_failures_a_minute(
    backend: AuthBackend, clock: FakeClock
) -> None:
    throttle = backend.throttle()
    for _ in range(19):
        throttle.record_failure(None, "203.0.113.5", clock())
        clock.advance(1)
    assert throttle.retry_after(None, "203.0.113.5", clock()) is None
    throttle.record_failure(None, "203.0.113.5", clock())
    assert throttle.retry_after(None, "203.0.113.5", clock()) == 41  # the first + 60 s
    assert throttle.retry_after(None, "198.51.100.7", clock()) is None
    clock.advance(41)
    assert throttle.retry_after(None, "203.0.113.5", clock()) is None


def _rows(backend: SqlBackend) -> tuple[int, int]:
    with backend.engine.connect() as conn:
        accounts = conn.scalar(select(func.count()).select_from(login_throttle_accounts))
        addresses = conn.scalar(select(func.count()).select_from(login_failures_by_address))
    return int(accounts or 0), int(addresses or 0)


def test_state_is_purged_a_day_after_the_last_failure(
    sql_backend: SqlBackend, clock: FakeClock
) -> None:
    sql_backend.throttle().record_failure("old", "203.0.113.5", clock())
    clock.advance(60)
    sql_backend.throttle().record_failure("recent", "203.0.113.6", clock())
    assert _rows(sql_backend) == (2, 1)  # the old address failure left its minute
    clock.advance(24 * 3600 - 30)
    sql_backend.throttle().record_failure(None, None, clock())  # a new process's first
    assert _rows(sql_backend) == (1, 0)  # "old" is a day old; "recent" is not yet


def test_concurrent_failures_are_all_counted(sql_backend: SqlBackend, clock: FakeClock) -> None:
    """The upsert counts in the database: no lost update between threads (PostgreSQL's
    connections run them truly at once; SQLite's writers queue)."""
    throttles = [sql_backend.throttle(ThrottlePolicy(account_failures=1000)) for _ in range(2)]
    start = threading.Barrier(8)

    def fail(index: int) -> None:
        start.wait()
        for _ in range(5):
            throttles[index % 2].record_failure("alice", None, clock())

    workers = [threading.Thread(target=fail, args=(i,)) for i in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    with sql_backend.engine.connect() as conn:
        failures = conn.scalar(select(login_throttle_accounts.c.failures))
    assert failures == 40


def test_429_is_declared_with_retry_after(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, method in (("/token", "post"), ("/users/me", "patch"), ("/users/me", "delete")):
        declared = paths[path][method]["responses"]["429"]
        assert "Retry-After" in declared["headers"], (path, method)


def test_retry_after_is_whole_seconds_rounded_up(backend: AuthBackend, clock: FakeClock) -> None:
    throttle = backend.throttle()
    for _ in range(6):  # the 6th locks for 2 s
        throttle.record_failure("alice", None, clock())
    clock.advance(0.25)
    wait = throttle.retry_after("alice", None, clock())
    assert wait == math.ceil(2 - 0.25)
    clock.advance(1.75)
    assert throttle.retry_after("alice", None, clock()) is None
