"""The groups API over the fake, SQLite and PostgreSQL, with tokens checked against a JWKS."""

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playball_groups.adapters.jwks import JwksTokenVerifier
from playball_groups.domain.model import KnownUser
from playball_groups.entrypoints.api import create_app
from support.tokens import AUDIENCE, Issuer, SigningKey

from groups.conftest import UnitOfWorkFactory


class Api:
    def __init__(self, client: TestClient, issuer: Issuer, unit_of_work: UnitOfWorkFactory):
        self.client = client
        self.issuer = issuer
        self._unit_of_work = unit_of_work

    def user(self, name: str = "Ada", *, deleted: bool = False) -> uuid.UUID:
        """A user the view knows (as if its UserRegistered had been applied)."""
        user_id = uuid.uuid4()
        with self._unit_of_work() as uow:
            uow.users.save(
                [
                    KnownUser(
                        user_id, 1, deleted, None if deleted else "u", None if deleted else name
                    )
                ]
            )
            uow.commit()
        return user_id

    def auth(self, user_id: uuid.UUID) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.token(user_id)}"}

    def new_group(self, admin: uuid.UUID, name: str = "club") -> dict[str, object]:
        response = self.client.post("/groups", json={"name": name}, headers=self.auth(admin))
        assert response.status_code == 201, response.text
        body: dict[str, object] = response.json()
        return body


@pytest.fixture(scope="module")
def api(unit_of_work: UnitOfWorkFactory, issuer: Issuer) -> Iterator[Api]:
    verifier = JwksTokenVerifier(
        f"{issuer.url}/.well-known/jwks.json",
        issuer=issuer.url,
        audience=AUDIENCE,
        refresh_cooldown=0,
    )
    with TestClient(create_app(unit_of_work, verifier)) as client:
        yield Api(client, issuer, unit_of_work)


def test_healthz_needs_no_token(api: Api) -> None:
    response = api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_creator_becomes_admin_and_sees_the_group(api: Api) -> None:
    ada = api.user("Ada")
    created = api.new_group(ada, "chess club")
    assert created["name"] == "chess club" and created["version"] == 1
    assert dt.datetime.fromisoformat(str(created["created_at"])).tzinfo is not None

    listed = api.client.get("/groups", headers=api.auth(ada)).json()
    assert [g["id"] for g in listed] == [created["id"]]
    assert api.client.get(f"/groups/{created['id']}", headers=api.auth(ada)).json() == created
    members = api.client.get(f"/groups/{created['id']}/members", headers=api.auth(ada)).json()
    assert members == [{"user_id": str(ada), "display_name": "Ada", "role": "admin"}]


def test_rename_uses_optimistic_concurrency(api: Api) -> None:
    ada = api.user()
    group = api.new_group(ada)
    url = f"/groups/{group['id']}"
    first = api.client.patch(url, json={"name": "new", "version": 1}, headers=api.auth(ada))
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = api.client.patch(url, json={"name": "newer", "version": 1}, headers=api.auth(ada))
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version"
    assert api.client.get(url, headers=api.auth(ada)).json()["name"] == "new"


def test_members_are_added_by_admins_and_leave_by_themselves(api: Api) -> None:
    ada, bob = api.user("Ada"), api.user("Bob")
    group = api.new_group(ada)
    members_url = f"/groups/{group['id']}/members"
    added = api.client.post(members_url, json={"user_id": str(bob)}, headers=api.auth(ada))
    assert added.status_code == 201
    assert added.json() == {"user_id": str(bob), "display_name": "Bob", "role": "member"}
    again = api.client.post(members_url, json={"user_id": str(bob)}, headers=api.auth(ada))
    assert (again.status_code, again.json()["code"]) == (409, "already_member")

    assert api.client.get(f"/groups/{group['id']}", headers=api.auth(bob)).status_code == 200
    left = api.client.delete(f"{members_url}/{bob}", headers=api.auth(bob))
    assert left.status_code == 204
    assert api.client.get(f"/groups/{group['id']}", headers=api.auth(bob)).status_code == 404


def test_non_admin_cannot_edit(api: Api) -> None:
    ada, bob, carol = api.user(), api.user(), api.user()
    group = api.new_group(ada)
    url = f"/groups/{group['id']}"
    for user in (bob, carol):
        api.client.post(f"{url}/members", json={"user_id": str(user)}, headers=api.auth(ada))
    as_bob = api.auth(bob)
    attempts = [
        api.client.patch(url, json={"name": "mine", "version": 1}, headers=as_bob),
        api.client.delete(url, headers=as_bob),
        api.client.post(f"{url}/members", json={"user_id": str(api.user())}, headers=as_bob),
        api.client.delete(f"{url}/members/{carol}", headers=as_bob),
    ]
    assert [(r.status_code, r.json()["code"]) for r in attempts] == [
        (403, "not_admin"),
        (403, "not_admin"),
        (403, "not_admin"),
        (403, "forbidden"),
    ]
    assert api.client.get(url, headers=api.auth(ada)).json()["name"] == group["name"]


def test_non_member_cannot_read_or_edit(api: Api) -> None:
    ada, eve = api.user(), api.user()
    group = api.new_group(ada)
    url = f"/groups/{group['id']}"
    as_eve = api.auth(eve)
    responses = [
        api.client.get(url, headers=as_eve),
        api.client.get(f"{url}/members", headers=as_eve),
        api.client.patch(url, json={"name": "x", "version": 1}, headers=as_eve),
        api.client.delete(url, headers=as_eve),
        api.client.post(f"{url}/members", json={"user_id": str(eve)}, headers=as_eve),
    ]
    assert {(r.status_code, r.json()["code"]) for r in responses} == {(404, "group_not_found")}
    assert api.client.get("/groups", headers=as_eve).json() == []


def test_admin_deletes_the_group(api: Api) -> None:
    ada = api.user()
    group = api.new_group(ada)
    assert api.client.delete(f"/groups/{group['id']}", headers=api.auth(ada)).status_code == 204
    assert api.client.get(f"/groups/{group['id']}", headers=api.auth(ada)).status_code == 404


def test_last_admin_leaving_promotes_the_longest_standing_member(api: Api) -> None:
    ada, bob, carol = api.user("Ada"), api.user("Bob"), api.user("Carol")
    group = api.new_group(ada)
    url = f"/groups/{group['id']}/members"
    for user in (bob, carol):
        api.client.post(url, json={"user_id": str(user)}, headers=api.auth(ada))
    assert api.client.delete(f"{url}/{ada}", headers=api.auth(ada)).status_code == 204
    roles = {
        m["display_name"]: m["role"] for m in api.client.get(url, headers=api.auth(bob)).json()
    }
    assert roles == {"Bob": "admin", "Carol": "member"}


def test_unknown_caller_gets_409_user_not_known_with_retry_after(api: Api) -> None:
    stranger = uuid.uuid4()  # a valid token, but no event about this user applied yet
    response = api.client.post("/groups", json={"name": "x"}, headers=api.auth(stranger))
    assert response.status_code == 409
    assert response.headers["Retry-After"] == "1"
    body = response.json()
    assert body["code"] == "user_not_known" and "not known (yet)" in body["detail"]


def test_unknown_member_gets_409_user_not_known(api: Api) -> None:
    ada = api.user()
    group = api.new_group(ada)
    response = api.client.post(
        f"/groups/{group['id']}/members", json={"user_id": str(uuid.uuid4())}, headers=api.auth(ada)
    )
    assert (response.status_code, response.json()["code"]) == (409, "user_not_known")
    assert response.headers["Retry-After"] == "1"


def test_deleted_user_cannot_be_added(api: Api) -> None:
    ada, gone = api.user(), api.user(deleted=True)
    group = api.new_group(ada)
    response = api.client.post(
        f"/groups/{group['id']}/members", json={"user_id": str(gone)}, headers=api.auth(ada)
    )
    assert (response.status_code, response.json()["code"]) == (409, "user_deleted")
    assert "Retry-After" not in response.headers


def _forged(api: Api, kind: str, user: uuid.UUID) -> str:  # noqa: PLR0911 - one per kind
    issuer = api.issuer
    now = dt.datetime.now(dt.UTC)
    if kind == "alg none":
        return issuer.unsigned(user)
    if kind == "HS256 with the public key":
        return issuer.hs256_with_public_key(user)
    if kind == "bad signature":
        head, payload, signature = issuer.token(user).split(".")
        return f"{head}.{payload}.{signature[::-1]}"
    if kind == "foreign key with our kid":
        stranger = SigningKey()
        stranger.kid = issuer.key.kid
        return issuer.token(user, key=stranger)
    if kind == "unknown kid":
        return issuer.token(user, key=SigningKey())
    if kind == "expired":
        return issuer.token(
            user, iat=now - dt.timedelta(hours=1), exp=now - dt.timedelta(minutes=1)
        )
    if kind == "wrong audience":
        return issuer.token(user, aud="playball-auth")
    if kind == "wrong issuer":
        return issuer.token(user, iss="http://evil.example")
    if kind == "no expiry":
        claims = issuer.claims(user)
        del claims["exp"]
        import jwt  # noqa: PLC0415

        return jwt.encode(
            claims, issuer.key.private, "RS256", headers={"kid": issuer.key.kid, "typ": "at+jwt"}
        )
    if kind == "subject not a uuid":
        return issuer.token(user, sub="ada")
    if kind == "garbage":
        return "not.a.jwt"
    raise AssertionError(kind)


FORGERIES = [
    "alg none",
    "HS256 with the public key",
    "bad signature",
    "foreign key with our kid",
    "unknown kid",
    "expired",
    "wrong audience",
    "wrong issuer",
    "no expiry",
    "subject not a uuid",
    "garbage",
]


@pytest.mark.parametrize("kind", FORGERIES)
def test_forged_tokens_get_401(api: Api, kind: str) -> None:
    ada = api.user()
    response = api.client.get(
        "/groups", headers={"Authorization": f"Bearer {_forged(api, kind, ada)}"}
    )
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_token"
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Basic YWRhOnB3"}, {"Authorization": "Bearer"}]
)
def test_missing_token_gets_401(api: Api, headers: dict[str, str]) -> None:
    response = api.client.get("/groups", headers=headers)
    assert (response.status_code, response.json()["code"]) == (401, "invalid_token")


def test_rotated_key_is_fetched_on_its_unknown_kid(api: Api) -> None:
    ada = api.user()
    assert api.client.get("/groups", headers=api.auth(ada)).status_code == 200  # keys cached
    rotated = SigningKey()
    api.issuer.keys.append(rotated)
    try:
        token = api.issuer.token(ada, key=rotated)
        response = api.client.get("/groups", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    finally:
        api.issuer.keys.remove(rotated)


def test_unreachable_jwks_is_503_not_401(unit_of_work: UnitOfWorkFactory, issuer: Issuer) -> None:
    verifier = JwksTokenVerifier(
        "http://127.0.0.1:9/.well-known/jwks.json", issuer=issuer.url, audience=AUDIENCE, timeout=2
    )
    with TestClient(create_app(unit_of_work, verifier)) as client:
        token = issuer.token(uuid.uuid4())
        response = client.get("/groups", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.json()["code"]) == (503, "auth_unavailable")
