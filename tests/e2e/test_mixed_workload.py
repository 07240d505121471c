"""A mixed workload survives a relay crash and a consumer crash with nothing lost.

≥ 2,000 API operations over ≥ 100 users; the relay is SIGKILLed a third of the way in and
restarted, the consumer likewise at two thirds. Afterwards the groups service's user view
equals the projection rebuilt from the auth database: every surviving user at its current
version, name and display name, every deleted user tombstoned.
"""

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from support.system import RunningSystem

pytestmark = [pytest.mark.stack, pytest.mark.slow]

USERS = 110
OPERATIONS = 2_000
CONVERGENCE_DEADLINE = 180.0


@dataclass
class Account:
    id: uuid.UUID
    username: str
    headers: dict[str, str]
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
    token = client.post(f"{auth}/token", data={"username": username, "password": password})
    assert token.status_code == 200, token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return Account(uuid.UUID(created.json()["id"]), username, bearer)


def _one_operation(client: httpx.Client, auth: str, account: Account, rng: random.Random) -> None:
    roll = rng.random()
    if roll < 0.02:  # a few deletions
        response = client.delete(f"{auth}/users/me", headers=account.headers)
        assert response.status_code == 204, response.text
        account.deleted = True
    elif roll < 0.12:  # an email change: no event, version unchanged
        body = {"email": f"{account.username}-{rng.randrange(10**9)}@example.org"}
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


def test_view_equals_the_auth_projection_after_relay_and_consumer_crashes(
    system: RunningSystem,
) -> None:
    rng = random.Random(20261129)
    auth = system.auth_url
    done = 0
    with httpx.Client(timeout=30) as client:
        accounts = [_register(client, auth, n) for n in range(USERS)]
        done += 2 * USERS
        crash_plan: dict[int, Callable[[], None]] = {
            OPERATIONS // 3: lambda: system.kill("auth-relay"),
            OPERATIONS // 3 + 200: lambda: system.start("auth-relay"),
            2 * OPERATIONS // 3: lambda: system.kill("groups-consumer"),
            2 * OPERATIONS // 3 + 200: lambda: system.start("groups-consumer"),
        }
        while done < OPERATIONS:
            if done in crash_plan:
                crash_plan.pop(done)()
            living = [a for a in accounts if not a.deleted]
            _one_operation(client, auth, rng.choice(living), rng)
            done += 1
        for action in crash_plan.values():  # never skip a restart
            action()

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
