"""The HTTP API, one suite on the fakes, SQLite and PostgreSQL (the ``backend`` fixture)."""

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playball_auth.adapters.database_sql import make_engine, session_factory
from playball_auth.adapters.passwords_argon2 import Argon2PasswordHasher
from playball_auth.adapters.throttle_sql import SqlLoginThrottle
from playball_auth.adapters.tokens_jwt import JwtAccessTokens
from playball_auth.adapters.unit_of_work_sql import SqlUnitOfWork
from playball_auth.domain.throttle import ThrottlePolicy
from playball_auth.entrypoints.api import create_app
from playball_auth.service_layer.ports import AuthPorts
from support.auth_backends import AuthBackend

NEW_USER = {
    "username": "alice",
    "email": "Alice@Example.org",
    "password": "correct horse",
    "display_name": "Alice",
}


def create(client: TestClient, **overrides: str) -> dict[str, Any]:
    response = client.post("/users", json={**NEW_USER, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def login(
    client: TestClient,
    username: str = "alice",
    password: str = "correct horse",
    scope: str = "account",
) -> str:
    """An access token; by default an account token, the kind /users/me takes."""
    data = {"username": username, "password": password, "scope": scope}
    response = client.post("/token", data=data)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def send(client: TestClient, method: str, url: str, body: object, **kwargs: Any) -> Any:
    """JSON escaped to ASCII, so lone surrogates travel as ``\\ud800`` escapes."""
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return client.request(method, url, content=json.dumps(body), headers=headers, **kwargs)


def delete_me(client: TestClient, token: str, current_password: str) -> Any:
    return send(
        client, "DELETE", "/users/me", {"current_password": current_password}, headers=auth(token)
    )


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == code
    assert isinstance(body["detail"], str)


def test_register_returns_the_user(client: TestClient) -> None:
    body = create(client)
    assert set(body) == {"id", "username", "email", "display_name", "version", "created_at"}
    assert uuid.UUID(body["id"])
    assert body["username"] == "alice"
    assert body["email"] == "alice@example.org"  # stored lower-cased
    assert body["version"] == 1
    assert body["created_at"].endswith(("Z", "+00:00"))


def test_token_then_me(client: TestClient) -> None:
    created = create(client)
    data = {"username": "ALICE", "password": "correct horse", "scope": "account"}
    response = client.post("/token", data=data)
    assert response.status_code == 200
    body = response.json()
    # an account token: short-lived, and no refresh token (changes start from the password)
    assert body == {
        "access_token": body["access_token"],
        "token_type": "bearer",
        "expires_in": 300,
        "scope": "account",
    }
    assert response.headers["cache-control"] == "no-store"
    me = client.get("/users/me", headers=auth(body["access_token"]))
    assert me.status_code == 200
    assert me.json() == created


def test_the_default_scope_is_groups_with_a_refresh_token(client: TestClient) -> None:
    create(client)
    response = client.post("/token", data={"username": "alice", "password": "correct horse"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "refresh_token"}
    assert (body["scope"], body["expires_in"]) == ("groups", 900)
    assert len(body["refresh_token"]) == 43  # 256 bits, base64url


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"email": "other@example.org"}, "username_taken"),
        ({"username": "ALICE", "email": "other@example.org"}, "username_taken"),
        ({"username": "alice2"}, "email_taken"),
        ({"username": "alice2", "email": "ALICE@example.ORG"}, "email_taken"),
    ],
)
def test_duplicates_are_409(client: TestClient, overrides: dict[str, str], code: str) -> None:
    create(client)
    assert_error(client.post("/users", json={**NEW_USER, **overrides}), 409, code)


def test_wrong_credentials_are_401_without_saying_which_part(client: TestClient) -> None:
    create(client)
    wrong_password = client.post("/token", data={"username": "alice", "password": "nope nope"})
    unknown_user = client.post("/token", data={"username": "nobody", "password": "nope nope"})
    bad_name = client.post("/token", data={"username": "a\x00b", "password": "nope nope"})
    for response in (wrong_password, unknown_user, bad_name):
        assert_error(response, 401, "invalid_credentials")
        assert response.headers["www-authenticate"] == "Bearer"
    assert wrong_password.json() == unknown_user.json() == bad_name.json()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer x.y.z"},
        {"Authorization": "Basic a"},
    ],
)
def test_missing_or_bad_token_is_401(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/users/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] in {"not_authenticated", "invalid_token"}
    assert response.headers["www-authenticate"] == "Bearer"


def test_patch_changes_and_versions(client: TestClient, backend: AuthBackend) -> None:
    created = create(client)
    token = login(client)
    renamed = client.patch("/users/me", json={"display_name": "Ally"}, headers=auth(token))
    assert renamed.status_code == 200
    assert renamed.json()["display_name"] == "Ally"
    assert renamed.json()["version"] == 2
    moved = client.patch(
        "/users/me",
        json={"email": "new@example.org", "current_password": "correct horse"},
        headers=auth(token),
    )
    assert moved.json()["email"] == "new@example.org"
    assert moved.json()["version"] == 2  # not a contract change
    assert "login-required" not in moved.headers
    new_password = client.patch(
        "/users/me",
        json={"password": "battery staple", "current_password": "correct horse"},
        headers=auth(token),
    )
    assert new_password.status_code == 200
    assert new_password.headers["login-required"] == "true"
    token = login(client, password="battery staple")
    assert_error(
        client.post("/token", data={"username": "alice", "password": "correct horse"}),
        401,
        "invalid_credentials",
    )
    nothing = client.patch("/users/me", json={}, headers=auth(token))
    assert nothing.status_code == 200
    assert nothing.json()["version"] == 2
    versions = [row.aggregate_version for row in backend.outbox_rows(uuid.UUID(created["id"]))]
    assert versions == [1, 2]


def test_patch_to_a_taken_email_is_409(client: TestClient) -> None:
    create(client)
    create(client, username="bob", email="bob@example.org")
    token = login(client, "bob")
    body = {"email": "alice@example.org", "current_password": "correct horse"}
    response = client.patch("/users/me", json=body, headers=auth(token))
    assert_error(response, 409, "email_taken")
    # with a new password too (its refresh tokens revoked in the same transaction)
    body["password"] = "battery staple"
    response = client.patch("/users/me", json=body, headers=auth(token))
    assert_error(response, 409, "email_taken")
    assert login(client, "bob")  # nothing changed


def test_delete_then_the_token_and_the_login_are_refused(
    client: TestClient, backend: AuthBackend
) -> None:
    created = create(client)
    token = login(client)
    response = delete_me(client, token, "correct horse")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(client.get("/users/me", headers=auth(token)), 401, "invalid_token")
    assert_error(delete_me(client, token, "correct horse"), 401, "invalid_token")
    assert_error(
        client.patch("/users/me", json={"display_name": "x"}, headers=auth(token)),
        401,
        "invalid_token",
    )
    assert_error(
        client.post("/token", data={"username": "alice", "password": "correct horse"}),
        401,
        "invalid_credentials",
    )
    assert uuid.UUID(created["id"]) not in backend.user_ids()
    # the name is free again, for a new account with a new id
    again = create(client)
    assert again["id"] != created["id"]
    assert again["version"] == 1


# over every field's limit, under the body limit (a larger body is a 413, tested with
# the HTTP limits)
HUGE = "x" * 10_000


@pytest.mark.parametrize(
    "overrides",
    [
        {"username": "a\x00b"},
        {"username": "ab"},
        {"username": "a b c"},
        {"username": "ünïcode"},
        {"username": HUGE},
        {"email": "not-an-email"},
        {"email": "a\x00@example.org"},
        {"email": "\ud800@example.org"},
        {"email": HUGE + "@example.org"},
        {"display_name": "a\x00b"},
        {"display_name": "\ud800"},
        {"display_name": "x\udfffy"},
        {"display_name": "   "},
        {"display_name": ""},
        {"display_name": HUGE},
        {"password": "short"},
        {"password": "\ud800" * 10},
        {"password": HUGE},
        {"extra": "field"},
    ],
    ids=lambda o: next(iter(o)) + ":" + repr(next(iter(o.values())))[:12],
)
def test_bad_input_is_422_in_fastapis_shape(client: TestClient, overrides: dict[str, str]) -> None:
    response = send(client, "POST", "/users", {**NEW_USER, **overrides})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert {"loc", "msg", "type"} <= set(detail[0])
    assert "correct horse" not in response.text  # passwords are never echoed


@pytest.mark.parametrize(
    "body",
    [b"{", b"\xff\xfe", b'{"username": "\\ud800"}', b"null", b"[]", b'"\x00"'],
)
def test_malformed_bodies_are_4xx(client: TestClient, body: bytes) -> None:
    response = client.post("/users", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422


def test_patch_bad_input_is_422(client: TestClient) -> None:
    create(client)
    token = login(client)
    for body in ({"display_name": "a\x00"}, {"email": "\ud800"}, {"username": "x"}):
        response = send(client, "PATCH", "/users/me", body, headers=auth(token))
        assert response.status_code == 422, (body, response.text)


def test_token_form_with_odd_input_is_never_5xx(client: TestClient) -> None:
    create(client)
    for data in (
        {"username": "alice\x00", "password": "correct horse"},
        {"username": "alice", "password": "correct horse", "scope": "\x00"},
        {"grant_type": "refresh_token", "refresh_token": "\x00" * 10},
        {"username": "alice", "password": "\x00" * 10},
        {"username": "ü" * 200, "password": "x"},
        {"username": "alice", "password": "correct horse", "grant_type": "client"},
        {"username": "x" * 300, "password": "x"},
        {},
    ):
        response = client.post("/token", data=data)
        assert response.status_code in {400, 401, 422}, (data, response.text)


def test_jwks_and_healthz(client: TestClient) -> None:
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert len(keys) == 1
    assert {"kty", "kid", "n", "e", "alg", "use"} <= set(keys[0])
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_callers_trace_context_reaches_the_outbox_row(
    client: TestClient, backend: AuthBackend
) -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = client.post("/users", json=NEW_USER, headers={"traceparent": traceparent})
    assert response.status_code == 201
    (row,) = backend.outbox_rows(uuid.UUID(response.json()["id"]))
    assert row.headers["traceparent"] == traceparent


def test_an_unreachable_database_is_503_not_500(
    tokens: JwtAccessTokens, cheap_argon2: Argon2PasswordHasher
) -> None:
    engine = make_engine("postgresql+psycopg://nobody:secret@127.0.0.1:1/playball_auth")
    sessions = session_factory(engine)
    ports = AuthPorts(
        uow_factory=lambda: SqlUnitOfWork(sessions),
        passwords=cheap_argon2,
        tokens=tokens,
        check_ready=lambda: False,
        throttle=SqlLoginThrottle(engine, ThrottlePolicy()),
    )
    try:
        with TestClient(create_app(ports), raise_server_exceptions=False) as client:
            token = tokens.issue(uuid.uuid4(), scope="account", credentials_version=1)
            bearer = auth(token.access_token)
            refresh = {"grant_type": "refresh_token", "refresh_token": "x" * 43}
            for response in (
                client.post("/users", json=NEW_USER),
                client.post("/token", data={"username": "alice", "password": "correct horse"}),
                client.post("/token", data=refresh),
                client.post("/logout", data={"refresh_token": "x" * 43}),
                client.get("/users/me", headers=bearer),
                client.patch("/users/me", json={"display_name": "x"}, headers=bearer),
                delete_me(client, token.access_token, "correct horse"),
                client.get("/healthz"),
            ):
                assert_error(response, 503, "database_unavailable")
    finally:
        engine.dispose()
