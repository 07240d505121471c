"""A mixed workload survives a relay crash and a consumer crash with nothing lost.

≥ 2,000 API operations over ≥ 100 users; the relay is SIGKILLed a third of the way in and
restarted, the consumer likewise at two thirds. Afterwards the groups service's user view
equals the projection rebuilt from the auth database: every surviving user at its current
version, name and display name, every deleted user tombstoned.
"""

import random
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from support.system import RunningSystem

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.xdist_group("e2e-system")]

USERS = 110
OPERATIONS = 2_000
CLIENTS = 4
CONVERGENCE_DEADLINE = 180.0


@dataclass
class Account:
    id: uuid.UUID
    username: str
    password: str
    headers: dict[str, str]  # an account-scope token's: /users/me takes no other
    deleted: bool = False


def _register(client: httpx.Client, auth: str, n: int) -> Account:
    tag = uuid.uuid4().hex[:8]
    username, password = f"mix{n}-{tag}", f"pw-{tag}-long-enough"
    created = client.post(
        f"{auth}/users",
        json={
            "username": username,
            "email": f"{username}@example.org",
            "password": password,
            "display_name": f"Player {n}",
        },
    )
    assert created.status_code == 201, created.text
    token = client.post(
        f"{auth}/token", data={"username": username, "password": password, "scope": "account"}
    )
    assert token.status_code == 200, token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return Account(uuid.UUID(created.json()["id"]), username, password, bearer)


def _one_operation(client: httpx.Client, auth: str, account: Account, rng: random.Random) -> None:
    roll = rng.random()
    if roll < 0.02:  # a few deletions
        response = client.request(
            "DELETE",
            f"{auth}/users/me",
            json={"current_password": account.password},
            headers=account.headers,
        )
        assert response.status_code == 204, response.text
        account.deleted = True
    elif roll < 0.06:  # an email change: no event, version unchanged (and a password
        # check: ~35 ms of argon2id in the API at OWASP's minimum, so a few in a hundred)
        body = {
            "email": f"{account.username}-{rng.randrange(10**9)}@example.org",
            "current_password": account.password,
        }
        response = client.patch(f"{auth}/users/me", json=body, headers=account.headers)
        assert response.status_code == 200, response.text
    else:
        body = {"display_name": f"Name {rng.randrange(10**9)}"}
        response = client.patch(f"{auth}/users/me", json=body, headers=account.headers)
        assert response.status_code == 200, response.text


def _auth_projection(url: str, ids: set[uuid.UUID]) -> dict[uuid.UUID, tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, username, display_name, version FROM users")
            ).all()
    finally:
        engine.dispose()
    alive = {uuid.UUID(str(r[0])): (False, r[1], r[2], int(r[3])) for r in rows}
    return {user_id: alive.get(user_id, (True,)) for user_id in ids}


def _groups_view(url: str, ids: set[uuid.UUID]) -> dict[uuid.UUID, tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT user_id, deleted, username, display_name, user_version FROM known_users"
                )
            ).all()
    finally:
        engine.dispose()
    view: dict[uuid.UUID, tuple[Any, ...]] = {}
    for user_id, deleted, username, display_name, version in rows:
        key = uuid.UUID(str(user_id))
        if key in ids:
            view[key] = (True,) if deleted else (False, username, display_name, int(version))
    return view


class Progress:
    """The operations done so far, counted across the client threads."""

    def __init__(self, done: int = 0) -> None:
        self.done = done
        self.lock = threading.Lock()

    def claim(self) -> bool:
        """Take the next operation; False once OPERATIONS are taken."""
        with self.lock:
            if self.done >= OPERATIONS:
                return False
            self.done += 1
            return True


def _client_shard(system: RunningSystem, shard: int, progress: Progress) -> list[Account]:
    """One client's share of the users, registered, then operated on until the total is
    reached. Each user belongs to one client, so each user's changes stay in order."""
    rng = random.Random(20261129 + shard)
    auth = system.auth_url
    # auth serves https as under `playball up`: trust the system's CA, and only it
    trust = ssl.create_default_context(cafile=system.tls.ca) if system.tls else True
    with httpx.Client(timeout=30, verify=trust) as client:
        accounts = [_register(client, auth, n) for n in range(shard, USERS, CLIENTS)]
        while (living := [a for a in accounts if not a.deleted]) and progress.claim():
            _one_operation(client, auth, rng.choice(living), rng)
    return accounts


def test_view_equals_the_auth_projection_after_relay_and_consumer_crashes(
    system: RunningSystem,
) -> None:
    # several clients at once: the API serves them side by side, as it would its users,
    # and the workload takes a fraction of the time one client would need
    progress = Progress(done=2 * USERS)  # each registration and its login count
    crash_plan: list[tuple[int, Callable[[], None]]] = [
        (OPERATIONS // 3, lambda: system.kill("auth-relay")),
        (OPERATIONS // 3 + 200, lambda: system.start("auth-relay")),
        (2 * OPERATIONS // 3, lambda: system.kill("groups-consumer")),
        (2 * OPERATIONS // 3 + 200, lambda: system.start("groups-consumer")),
    ]
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        shards = [pool.submit(_client_shard, system, shard, progress) for shard in range(CLIENTS)]
        for at, action in crash_plan:
            # every action runs, restarts included, even when a client failed early
            while progress.done < at and not all(shard.done() for shard in shards):
                time.sleep(0.01)
            action()
        accounts = [account for shard in shards for account in shard.result()]
    assert progress.done == OPERATIONS

    ids = {account.id for account in accounts}
    expected = _auth_projection(system.auth_database_url, ids)
    assert sum(1 for state in expected.values() if state == (True,)) >= 1
    deadline = time.monotonic() + CONVERGENCE_DEADLINE
    while (view := _groups_view(system.groups_database_url, ids)) != expected:
        assert time.monotonic() < deadline, (
            f"view did not converge: {len(set(expected.items()) - set(view.items()))} "
            f"of {len(expected)} users differ"
        )
        time.sleep(0.5)
