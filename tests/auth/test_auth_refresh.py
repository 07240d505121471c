"""Refresh tokens through the API, on the fakes, SQLite and PostgreSQL: rotation, reuse
detection revoking the chain, logout, expiry, and revocation by a password change or a
deletion."""

import dataclasses
import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playball_auth.adapters.passwords_argon2 import Argon2PasswordHasher
from playball_auth.adapters.tokens_jwt import JwtAccessTokens
from playball_auth.entrypoints.api import create_app
from playball_auth.service_layer import grants, handlers
from playball_auth.service_layer import login as login_use_case
from playball_auth.service_layer.credentials import Reauthenticated
from playball_auth.service_layer.errors import InvalidGrantError
from playball_auth.service_layer.ports import AuthPorts
from support.auth_backends import AuthBackend, SqlBackend
from support.auth_fakes import FakeClock

PASSWORD = "correct horse"
NEW_USER = {
    "username": "alice",
    "email": "alice@example.org",
    "password": PASSWORD,
    "display_name": "Alice",
}
TTL = timedelta(days=30)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(ports: AuthPorts, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(dataclasses.replace(ports, clock=clock, refresh_ttl=TTL))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        assert test_client.post("/users", json=NEW_USER).status_code == 201
        yield test_client


def login(client: TestClient, scope: str = "groups", password: str = PASSWORD) -> dict[str, Any]:
    data = {"username": "alice", "password": password, "scope": scope}
    response = client.post("/token", data=data)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refresh(client: TestClient, refresh_token: str) -> Any:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return client.post("/token", data=data)


def assert_invalid_grant(response: Any) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {
        "detail": "the refresh token is invalid, expired or revoked",
        "code": "invalid_grant",
        "error": "invalid_grant",
    }
    assert response.headers["cache-control"] == "no-store"


def test_a_refresh_token_rotates(client: TestClient, tokens: JwtAccessTokens) -> None:
    first = login(client)
    response = refresh(client, first["refresh_token"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert set(second) == {"access_token", "token_type", "expires_in", "scope", "refresh_token"}
    assert second["scope"] == "groups"
    assert second["refresh_token"] != first["refresh_token"]
    claims = tokens.verify(second["access_token"], scope="groups")
    assert (claims.scope, claims.credentials_version) == ("groups", 1)
    third = refresh(client, second["refresh_token"])
    assert third.status_code == 200


def test_only_the_sha256_of_a_refresh_token_is_stored(
    client: TestClient, backend: AuthBackend
) -> None:
    value = login(client)["refresh_token"]
    with backend.uow_factory() as uow:
        assert uow.refresh_tokens.get_by_hash(value) is None
        stored = uow.refresh_tokens.get_by_hash(hashlib.sha256(value.encode()).hexdigest())
    assert stored is not None
    assert stored.expires_at - stored.issued_at == TTL


def test_a_reused_refresh_token_revokes_its_chain(client: TestClient) -> None:
    stolen = login(client)["refresh_token"]
    other_chain = login(client)["refresh_token"]  # another device's login
    rotated = refresh(client, stolen).json()["refresh_token"]
    assert_invalid_grant(refresh(client, stolen))  # the replay...
    assert_invalid_grant(refresh(client, rotated))  # ...revoked the whole chain
    assert refresh(client, other_chain).status_code == 200


def test_logout_revokes_the_chain_and_always_answers_204(client: TestClient) -> None:
    first = login(client)["refresh_token"]
    second = refresh(client, first).json()["refresh_token"]
    for value in (first, "never-issued", "\x00"):
        response = client.post("/logout", data={"refresh_token": value})
        assert response.status_code == 204
        assert response.content == b""
    assert_invalid_grant(refresh(client, second))


def test_an_expired_refresh_token_is_refused(client: TestClient, clock: FakeClock) -> None:
    value = login(client)["refresh_token"]
    clock.advance(TTL.total_seconds() - 1)
    value = refresh(client, value).json()["refresh_token"]  # rotating renews the lifetime
    clock.advance(TTL.total_seconds())
    assert_invalid_grant(refresh(client, value))


def test_a_password_change_revokes_every_token_of_the_user(client: TestClient) -> None:
    groups = login(client)
    account = login(client, "account")["access_token"]
    headers = {"Authorization": f"Bearer {account}", "Content-Type": "application/json"}
    body = json.dumps({"password": "battery staple", "current_password": PASSWORD})
    changed = client.patch("/users/me", content=body, headers=headers)
    assert changed.status_code == 200
    assert changed.headers["login-required"] == "true"
    assert client.get("/users/me", headers=headers).json()["code"] == "invalid_token"
    assert_invalid_grant(refresh(client, groups["refresh_token"]))
    fresh = login(client, password="battery staple")
    assert refresh(client, fresh["refresh_token"]).status_code == 200


def test_a_login_racing_a_password_change_gets_no_refresh_token_that_outlives_it(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A login checks the old password; the password changes (revoking every refresh
    token the user has); then the login adds its own. That token was issued under the
    old credentials: it must not refresh, or the old password would keep the account."""
    real_login = login_use_case.login  # what grants.password_grant calls

    def old_password_checked_then_changed(ports: AuthPorts, **kwargs: Any) -> Any:
        user = real_login(ports, **kwargs)
        handlers.update_profile(
            ports.uow_factory,
            ports.passwords,
            user.id,
            handlers.ProfileChanges(password="battery staple"),
            reauthenticated=Reauthenticated(user.id),
        )
        return user

    monkeypatch.setattr(login_use_case, "login", old_password_checked_then_changed)
    raced = login(client)  # its tokens are issued after the change has committed
    monkeypatch.undo()

    assert_invalid_grant(refresh(client, raced["refresh_token"]))
    fresh = login(client, password="battery staple")["refresh_token"]
    assert refresh(client, fresh).status_code == 200


def test_a_deletion_revokes_the_users_refresh_tokens(client: TestClient) -> None:
    value = login(client)["refresh_token"]
    account = login(client, "account")["access_token"]
    headers = {"Authorization": f"Bearer {account}", "Content-Type": "application/json"}
    body = json.dumps({"current_password": PASSWORD})
    assert client.request("DELETE", "/users/me", content=body, headers=headers).status_code == 204
    assert_invalid_grant(refresh(client, value))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "x"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "password", "username": "alice"}, "invalid_request"),
        ({}, "invalid_request"),
        (
            {"grant_type": "refresh_token", "refresh_token": "x", "scope": "account"},
            "invalid_scope",
        ),
    ],
)
def test_malformed_token_requests_are_oauth_400s(
    client: TestClient, data: dict[str, str], error: str
) -> None:
    response = client.post("/token", data=data)
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"detail", "code", "error"}
    assert body["code"] == body["error"] == error


def test_concurrent_refreshes_with_one_token_let_one_through_and_revoke_the_chain(
    sql_backend: SqlBackend, tokens: JwtAccessTokens, cheap_argon2: Argon2PasswordHasher
) -> None:
    """Two requests spending one token at the same moment (a thief racing the client):
    exactly one gets the next pair, and the other's refusal revokes the chain, the
    winner's new token included."""
    ports = AuthPorts(
        uow_factory=sql_backend.uow_factory,
        passwords=cheap_argon2,
        tokens=tokens,
        check_ready=lambda: True,
        throttle=sql_backend.throttle(),
    )
    handlers.register_user(ports.uow_factory, ports.passwords, **NEW_USER)
    first = grants.password_grant(
        ports, username="alice", password=PASSWORD, scope="groups", address=None
    )
    assert first.refresh_token is not None
    start = threading.Barrier(2)
    won: list[grants.TokenGrant] = []
    refused: list[InvalidGrantError] = []

    def spend() -> None:
        start.wait()
        try:
            won.append(grants.refresh_grant(ports, refresh_token=str(first.refresh_token)))
        except InvalidGrantError as exc:
            refused.append(exc)

    racers = [threading.Thread(target=spend) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert (len(won), len(refused)) == (1, 1)
    with pytest.raises(InvalidGrantError):
        grants.refresh_grant(ports, refresh_token=str(won[0].refresh_token))
