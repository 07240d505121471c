"""Bounded password hashing: a full set of slots answers 503 ``busy`` at once instead of
queueing, and the JWKS and the health check never wait behind hashing.

A hasher held on an event stands for a slow argon2: the tests wait for conditions (a
hash has started), never for time to pass. A real process flooded with logins is in
test_auth_processes.py.
"""

import dataclasses
import inspect
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from playball_auth.adapters.passwords_bounded import BoundedPasswordHasher, default_slots
from playball_auth.bootstrap import password_hasher
from playball_auth.entrypoints.api import create_app
from playball_auth.service_layer.errors import HashingBusyError
from playball_auth.service_layer.ports import AuthPorts, PasswordHasher
from playball_auth.settings import AuthSettings
from playball_service_kit.worker_threads import default_max_threads
from pydantic import ValidationError
from support.auth_backends import AuthBackend
from support.auth_fakes import CountingPasswordHasher, FakePasswordHasher

NEW_USER = {
    "username": "alice",
    "email": "alice@example.org",
    "password": "correct horse",
    "display_name": "Alice",
}
DEADLINE_S = 30.0


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not true within {DEADLINE_S} s"
        time.sleep(0.005)


class HeldHasher(PasswordHasher):
    """Another hasher whose hash and verify wait until released (when held)."""

    def __init__(self, inner: PasswordHasher) -> None:
        self.inner = inner
        self.release = threading.Event()
        self.release.set()
        self.waiting = 0
        self._lock = threading.Lock()

    def _wait(self) -> None:
        with self._lock:
            self.waiting += 1
        try:
            assert self.release.wait(DEADLINE_S), "the test never released the hasher"
        finally:
            with self._lock:
                self.waiting -= 1

    def hash(self, password: str) -> str:
        self._wait()
        return self.inner.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self._wait()
        return self.inner.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.inner.needs_rehash(password_hash)


def test_a_full_hasher_refuses_at_once_and_frees_its_slots() -> None:
    held = HeldHasher(FakePasswordHasher())
    bounded = BoundedPasswordHasher(held, slots=1)
    held.release.clear()
    first = threading.Thread(target=bounded.hash, args=("correct horse",))
    first.start()
    wait_until(lambda: held.waiting == 1, "the first hash holds the slot")
    with pytest.raises(HashingBusyError):
        bounded.verify("fake$p1$x", "x")
    with pytest.raises(HashingBusyError):
        bounded.hash("x")
    assert not bounded.needs_rehash("fake$p1$x")  # parses only: never bounded
    assert held.waiting == 1  # the refused calls never reached the hasher
    held.release.set()
    first.join()
    assert bounded.verify("fake$p1$x", "x")


def test_a_slot_is_freed_when_the_hasher_raises() -> None:
    class Broken(FakePasswordHasher):
        def hash(self, password: str) -> str:
            raise RuntimeError(password)

    bounded = BoundedPasswordHasher(Broken(), slots=1)
    for _ in range(3):
        with pytest.raises(RuntimeError):
            bounded.hash("x")


class PriorityProbe(FakePasswordHasher):
    """Records the nice value of the thread hashing, and of a thread that one starts
    (what argon2's lanes are)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def hash(self, password: str) -> str:
        self.seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        lane = threading.Thread(
            target=lambda: self.seen.append(
                os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            )
        )
        lane.start()
        lane.join()
        return super().hash(password)


def test_hashing_runs_at_the_lowest_priority_and_its_lanes_inherit_it() -> None:
    probe = PriorityProbe()
    bounded = BoundedPasswordHasher(probe, slots=2)
    try:
        bounded.hash("correct horse battery")
    finally:
        bounded.close()
    caller = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert probe.seen == [19, 19]
    assert caller != 19  # the request's own thread keeps its priority


def test_the_default_is_two_slots_per_cpu_available_to_the_process() -> None:
    assert default_slots() == 2 * len(os.sched_getaffinity(0))
    assert AuthSettings().auth_hash_concurrency is None
    assert password_hasher(AuthSettings()).slots == default_slots()
    assert password_hasher(AuthSettings(auth_hash_concurrency=3)).slots == 3


@pytest.fixture
def held(ports: AuthPorts) -> HeldHasher:
    return HeldHasher(ports.passwords)


@pytest.fixture
def client(ports: AuthPorts, held: HeldHasher) -> Iterator[TestClient]:
    app = create_app(dataclasses.replace(ports, passwords=BoundedPasswordHasher(held, 1)))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def assert_busy(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "busy"
    assert response.headers["retry-after"] == "1"


def test_a_full_hasher_is_503_busy_while_keys_and_health_answer(
    client: TestClient, held: HeldHasher
) -> None:
    assert client.post("/users", json=NEW_USER).status_code == 201
    held.release.clear()
    answers: list[int] = []
    login = threading.Thread(
        target=lambda: answers.append(
            client.post(
                "/token", data={"username": "alice", "password": "correct horse"}
            ).status_code
        )
    )
    login.start()
    try:
        wait_until(lambda: held.waiting == 1, "a login holds the only slot")
        for _ in range(5):  # as many as lock an account, were they counted as failures
            assert_busy(client.post("/token", data={"username": "alice", "password": "x" * 12}))
        assert_busy(client.post("/users", json={**NEW_USER, "username": "bob", "email": "b@x.org"}))
        assert client.get("/.well-known/jwks.json").status_code == 200
        assert client.get("/healthz").json() == {"status": "ok"}
    finally:
        held.release.set()
        login.join()
    assert answers == [200]
    # the refused logins were not counted as failures: the account is not locked
    right = {"username": "alice", "password": "correct horse"}
    assert client.post("/token", data=right).status_code == 200


@pytest.mark.parametrize("backend", ["fake"], indirect=True)  # the routes, not the storage
def test_keys_and_health_are_served_off_the_request_thread_pool(client: TestClient) -> None:
    """Async routes run on the event loop: no thread of the pool that hashing occupies."""
    routes = {
        route.path: route.endpoint
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, APIRoute)
    }
    for path in ("/.well-known/jwks.json", "/healthz"):
        assert inspect.iscoroutinefunction(routes[path]), path


def test_registration_checks_the_name_and_email_before_hashing(
    ports: AuthPorts, backend: AuthBackend
) -> None:
    del backend  # ports run on it
    counting = CountingPasswordHasher(ports.passwords)
    app = create_app(dataclasses.replace(ports, passwords=counting))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/users", json=NEW_USER).status_code == 201
        hashed = counting.hashed
        for taken in ({"username": "ALICE", "email": "a2@x.org"}, {"username": "al2"}):
            response = client.post("/users", json={**NEW_USER, **taken})
            assert response.status_code == 409, response.text
        assert counting.hashed == hashed


@pytest.mark.parametrize("backend", ["fake"], indirect=True)  # the routes, not the storage
@pytest.mark.parametrize("threads", [1, 2])
def test_the_account_routes_run_on_as_many_threads_as_the_setting_says(
    ports: AuthPorts, held: HeldHasher, threads: int
) -> None:
    """A password change holds its thread while it hashes: with one account thread the
    caller's next request waits for it, with two it is answered meanwhile."""
    app = create_app(dataclasses.replace(ports, passwords=held), account_threads=threads)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/users", json=NEW_USER).status_code == 201
        login = {"username": "alice", "password": "correct horse", "scope": "account"}
        bearer = {
            "Authorization": f"Bearer {client.post('/token', data=login).json()['access_token']}"
        }
        change = {"password": "another correct horse", "current_password": "correct horse"}
        held.release.clear()
        answers: dict[str, int] = {}

        def send(name: str, call: Callable[[], Any]) -> threading.Thread:
            thread = threading.Thread(target=lambda: answers.update({name: call().status_code}))
            thread.start()
            return thread

        changing = send("change", lambda: client.patch("/users/me", json=change, headers=bearer))
        try:
            wait_until(lambda: held.waiting == 1, "the password change is hashing")
            reading = send("read", lambda: client.get("/users/me", headers=bearer))
            if threads == 2:
                wait_until(lambda: "read" in answers, "the read is answered on the other thread")
                assert "change" not in answers
            else:
                reading.join(0.3)  # bounded: the read must still be waiting afterwards
                assert answers == {}
        finally:
            held.release.set()
            changing.join(DEADLINE_S)
            reading.join(DEADLINE_S)
        # one thread: the read ran after the change, which revoked the caller's tokens
        assert answers == {"change": 200, "read": 200 if threads == 2 else 401}


def test_the_account_threads_default_to_two_per_cpu_and_refuse_zero() -> None:
    assert default_max_threads() == 2 * len(os.sched_getaffinity(0))
    assert AuthSettings().auth_account_threads is None
    assert AuthSettings(auth_account_threads=3).auth_account_threads == 3
    with pytest.raises(ValidationError, match="auth_account_threads"):
        AuthSettings(auth_account_threads=0)
