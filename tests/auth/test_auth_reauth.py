"""Scopes and re-authentication at /users/me, on the fakes, SQLite and PostgreSQL.

Only account tokens reach the account, and only while the password they were issued
under is still the account's; a new email or password, and a deletion, also need the
current password, and a wrong one counts as a failed login.
"""

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playball_auth.entrypoints.api import create_app
from playball_auth.service_layer.ports import AuthPorts
from support.auth_fakes import FakeClock

PASSWORD = "correct horse"
NEW_USER = {
    "username": "alice",
    "email": "alice@example.org",
    "password": PASSWORD,
    "display_name": "Alice",
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(ports: AuthPorts, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(dataclasses.replace(ports, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        assert test_client.post("/users", json=NEW_USER).status_code == 201
        yield test_client


def token(client: TestClient, scope: str = "account", password: str = PASSWORD) -> str:
    data = {"username": "alice", "password": password, "scope": scope}
    response = client.post("/token", data=data)
    assert response.status_code == 200, response.text
    issued: str = response.json()["access_token"]
    return issued


def call(client: TestClient, method: str, access_token: str, body: object = None) -> Any:
    headers = {"Authorization": f"Bearer {access_token}"}
    if body is None:
        return client.request(method, "/users/me", headers=headers)
    headers["Content-Type"] = "application/json"
    return client.request(method, "/users/me", headers=headers, content=json.dumps(body))


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("GET", None),
        ("PATCH", {"display_name": "Mallory"}),
        ("DELETE", {"current_password": PASSWORD}),
    ],
)
def test_a_groups_token_is_refused_at_the_account(
    client: TestClient, method: str, body: object
) -> None:
    """A token the groups service has seen cannot touch the account."""
    response = call(client, method, token(client, "groups"), body)
    assert_error(response, 401, "invalid_token")
    assert response.headers["www-authenticate"] == "Bearer"
    assert call(client, "GET", token(client)).json()["display_name"] == "Alice"


def test_an_unknown_scope_is_an_oauth_invalid_scope(client: TestClient) -> None:
    for scope in ("admin", "groups account", "openid"):
        data = {"username": "alice", "password": PASSWORD, "scope": scope}
        response = client.post("/token", data=data)
        assert response.status_code == 400
        assert response.json() == {
            "detail": "scope must be one of: groups, account",
            "code": "invalid_scope",
            "error": "invalid_scope",
        }


def test_a_display_name_change_needs_no_current_password(client: TestClient) -> None:
    response = call(client, "PATCH", token(client), {"display_name": "Ally"})
    assert response.status_code == 200
    assert response.json()["display_name"] == "Ally"


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("PATCH", {"email": "mallory@example.org"}),
        ("PATCH", {"password": "battery staple"}),
        ("PATCH", {"display_name": "M", "password": "battery staple", "current_password": None}),
        ("DELETE", None),
        ("DELETE", {}),
    ],
)
def test_without_the_current_password_it_is_403(
    client: TestClient, method: str, body: object
) -> None:
    response = call(client, method, token(client), body)
    assert_error(response, 403, "reauthentication_required")
    me = call(client, "GET", token(client)).json()
    assert (me["email"], me["display_name"]) == ("alice@example.org", "Alice")
    assert token(client)  # the password is unchanged


def test_with_the_current_password_the_change_is_made(client: TestClient) -> None:
    access = token(client)
    body = {"email": "new@example.org", "current_password": PASSWORD}
    assert call(client, "PATCH", access, body).json()["email"] == "new@example.org"
    assert call(client, "DELETE", access, {"current_password": PASSWORD}).status_code == 204


def test_a_wrong_current_password_counts_as_a_failed_login(
    client: TestClient, clock: FakeClock
) -> None:
    """So a stolen token cannot guess the password faster than the login form allows."""
    access = token(client)
    wrong = {"email": "mallory@example.org", "current_password": "guess guess"}
    for _ in range(5):
        assert_error(call(client, "PATCH", access, wrong), 403, "reauthentication_required")
    right = {"email": "new@example.org", "current_password": PASSWORD}
    locked = call(client, "PATCH", access, right)
    assert_error(locked, 429, "too_many_attempts")
    assert locked.headers["retry-after"] == "1"
    deleting = call(client, "DELETE", access, {"current_password": PASSWORD})
    assert_error(deleting, 429, "too_many_attempts")
    login = client.post("/token", data={"username": "alice", "password": PASSWORD})
    assert_error(login, 429, "too_many_attempts")  # one count per account, however tried
    clock.advance(1)
    assert call(client, "PATCH", access, right).status_code == 200


def test_a_token_issued_before_a_password_change_is_refused(client: TestClient) -> None:
    old = token(client)
    other_old = token(client)
    body = {"password": "battery staple", "current_password": PASSWORD}
    changed = call(client, "PATCH", old, body)
    assert changed.status_code == 200
    assert changed.headers["login-required"] == "true"
    for access in (old, other_old):
        assert_error(call(client, "GET", access), 401, "invalid_token")
        assert_error(call(client, "PATCH", access, {"display_name": "x"}), 401, "invalid_token")
    new = token(client, password="battery staple")
    assert call(client, "GET", new).status_code == 200


@pytest.mark.parametrize("backend", ["fake"], indirect=True)  # the same on every backend
def test_the_openapi_declares_the_body_and_the_403(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for method in ("patch", "delete"):
        assert "403" in paths["/users/me"][method]["responses"]
    delete = paths["/users/me"]["delete"]
    assert delete["requestBody"].get("required", False) is False  # a body may be absent
    headers = paths["/users/me"]["patch"]["responses"]["200"]["headers"]
    assert "Login-Required" in headers
