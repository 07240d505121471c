"""Two real ``playball auth serve`` processes on one PostgreSQL database: they share one
failed-login count, and a flooded one answers 503 ``busy`` at once while its JWKS and
health check still answer.

Process A hashes one password at a time (``PLAYBALL_AUTH_HASH_CONCURRENCY=1``), B at the
default; both at the argon2 floor cost the system tests use.
"""

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import pytest
from playball_auth.adapters.orm_sql import login_throttle_accounts
from sqlalchemy import create_engine, select
from support.auth_process import playball_auth, serving
from support.databases import fresh_postgres
from support.system import PASSWORD_COST_ENV

pytestmark = [pytest.mark.stack, pytest.mark.slow]

DEADLINE_S = 60.0
PASSWORD = "correct horse"


@dataclass(frozen=True)
class Servers:
    a: str  # one hashing slot
    b: str
    database_url: str


def wait_until(condition: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not true within {timeout} s"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def servers(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    data_home = tmp_path_factory.mktemp("auth-processes")
    with ExitStack() as stack:
        url = stack.enter_context(fresh_postgres(database_url, "playball_auth_procs"))
        env = {
            **os.environ,
            **PASSWORD_COST_ENV,
            "PLAYBALL_AUTH_DATABASE_URL": url,
            "XDG_DATA_HOME": str(data_home),  # the development signing keys, shared
            # the address limit is tested elsewhere: here every request comes from
            # 127.0.0.1, and only the account's count is under test
            "PLAYBALL_AUTH_THROTTLE_ADDRESS_FAILURES_PER_MIN": "100000",
        }
        migrated = playball_auth("migrate", env=env)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        # one after the other: the first creates the development keys the second reads
        a = stack.enter_context(serving({**env, "PLAYBALL_AUTH_HASH_CONCURRENCY": "1"}))
        b = stack.enter_context(serving(env))
        yield Servers(a, b, url)


def register(base: str, username: str) -> None:
    response = httpx.post(
        f"{base}/users",
        json={
            "username": username,
            "email": f"{username}@example.org",
            "password": PASSWORD,
            "display_name": username,
        },
    )
    assert response.status_code == 201, response.text


def log_in(base: str, username: str, password: str) -> httpx.Response:
    return httpx.post(f"{base}/token", data={"username": username, "password": password})


def stored_failures(database_url: str, username: str) -> int | None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.scalar(
                select(login_throttle_accounts.c.failures).where(
                    login_throttle_accounts.c.username_key == username
                )
            )
    finally:
        engine.dispose()


def test_two_processes_share_the_failed_login_count(servers: Servers) -> None:
    """3 failures at A and 2 at B lock the account at both: neither had 5 of its own.

    The 5th failure locks for 1 s; should the right password reach B after that second
    (a very slow machine), it logs in, which ends the run, and the round starts over.
    """
    register(servers.a, "alice")
    deadline = time.monotonic() + DEADLINE_S
    while True:
        for attempt in range(5):
            base = servers.a if attempt % 2 == 0 else servers.b
            assert log_in(base, "alice", "wrong horse!").status_code == 401
        locked = log_in(servers.b, "alice", PASSWORD)
        if locked.status_code == 429:
            break
        assert locked.status_code == 200, locked.text
        assert time.monotonic() < deadline, "never saw the lock in time"
    assert locked.json()["code"] == "too_many_attempts"
    assert locked.headers["retry-after"] == "1"
    assert stored_failures(servers.database_url, "alice") == 5  # the refusal was not counted
    # once the lock is over the right password logs in, at either process, and the
    # success ends the run for both
    wait_until(lambda: log_in(servers.a, "alice", PASSWORD).status_code == 200, "the lock is over")
    assert stored_failures(servers.database_url, "alice") is None
    for attempt in range(4):
        base = servers.a if attempt % 2 == 0 else servers.b
        assert log_in(base, "alice", "wrong horse!").status_code == 401
    assert log_in(servers.b, "alice", PASSWORD).status_code == 200


def test_a_flooded_process_refuses_at_once_and_keeps_serving_keys_and_health(
    servers: Servers,
) -> None:
    """Logins with the right password from several clients at once, against one hashing
    slot, until one is refused; the JWKS and the health check answer meanwhile."""
    register(servers.a, "flood")
    statuses: Counter[int] = Counter()
    busy: list[httpx.Response] = []
    stop = threading.Event()
    lock = threading.Lock()

    def flood() -> None:
        with httpx.Client(base_url=servers.a, timeout=30) as client:
            while not stop.is_set():
                response = client.post("/token", data={"username": "flood", "password": PASSWORD})
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code == 503:
                        busy.append(response)

    clients = [threading.Thread(target=flood) for _ in range(6)]
    for client in clients:
        client.start()
    try:
        wait_until(lambda: bool(busy), "a login refused as busy")
        with httpx.Client(base_url=servers.a, timeout=30) as prober:
            assert prober.get("/.well-known/jwks.json").status_code == 200
            assert prober.get("/healthz").json() == {"status": "ok"}
    finally:
        stop.set()
        for client in clients:
            client.join()
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] >= 1
    refused = busy[0]
    assert refused.json()["code"] == "busy"
    assert refused.headers["retry-after"] == "1"
