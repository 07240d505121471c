"""An exhausted connection pool is a 503 ``database_busy`` with Retry-After, not a 500:
a pool of one connection, held by the test, and a short pool timeout."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playball_auth.adapters.database_sql import session_factory
from playball_auth.adapters.passwords_argon2 import Argon2PasswordHasher
from playball_auth.adapters.throttle_sql import SqlLoginThrottle
from playball_auth.adapters.tokens_jwt import JwtAccessTokens
from playball_auth.adapters.unit_of_work_sql import SqlUnitOfWork
from playball_auth.domain.throttle import ThrottlePolicy
from playball_auth.entrypoints.api import create_app
from playball_auth.service_layer.ports import AuthPorts
from playball_service_kit.database_sql import make_engine
from sqlalchemy import Engine
from support.auth_backends import SqlBackend

NEW_USER = {
    "username": "alice",
    "email": "alice@example.org",
    "password": "correct horse",
    "display_name": "Alice",
}


@pytest.fixture
def one_connection(sql_backend: SqlBackend) -> Iterator[Engine]:
    """An engine on the backend's database whose pool has one connection; a checkout
    gives up after 0.2 s."""
    engine = make_engine(sql_backend.engine.url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    yield engine
    engine.dispose()


def assert_database_busy(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {
        "detail": "the auth database is busy; try again shortly",
        "code": "database_busy",
    }
    assert response.headers["retry-after"] == "1"


def test_an_exhausted_pool_is_503_database_busy(
    one_connection: Engine, tokens: JwtAccessTokens, cheap_argon2: Argon2PasswordHasher
) -> None:
    sessions = session_factory(one_connection)
    ports = AuthPorts(
        uow_factory=lambda: SqlUnitOfWork(sessions),
        passwords=cheap_argon2,
        tokens=tokens,
        check_ready=lambda: True,
        throttle=SqlLoginThrottle(one_connection, ThrottlePolicy()),
    )
    access = tokens.issue(uuid.uuid4(), scope="account", credentials_version=1).access_token
    bearer = {"Authorization": f"Bearer {access}"}
    with TestClient(create_app(ports), raise_server_exceptions=False) as client:
        held = one_connection.connect()  # the pool's only connection
        try:
            for response in (
                client.post("/users", json=NEW_USER),
                client.post("/token", data={"username": "alice", "password": "correct horse"}),
                client.post("/token", data={"grant_type": "refresh_token", "refresh_token": "x"}),
                client.post("/logout", data={"refresh_token": "x"}),
                client.get("/users/me", headers=bearer),
                client.patch("/users/me", json={"display_name": "Al"}, headers=bearer),
            ):
                assert_database_busy(response)
        finally:
            held.close()
        # the pool recovers as soon as a connection is free
        assert client.post("/users", json=NEW_USER).status_code == 201
        login = {"username": "alice", "password": "correct horse"}
        assert client.post("/token", data=login).status_code == 200
