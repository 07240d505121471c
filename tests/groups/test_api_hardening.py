"""The groups API under hostile input and racing requests: never a 500.

- bodies: 415 for an undeclared type, 413 above the limit (declared or streamed);
- races, on PostgreSQL and SQLite: two adds of one member give 201 and 409, and an
  admin leaving with the heir still leaves an admin (the group's row is locked);
- the constraints behind those locks answer 409, not an IntegrityError;
- an exhausted pool is 503 ``database_busy`` with Retry-After;
- error bodies carry none of PyJWT's text and not the JWKS URL.

Tokens are the fake verifier's (the user id itself) except where the token errors are
the point.
"""

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Protocol

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playball_groups.adapters.database import Engine, make_engine
from playball_groups.adapters.jwks import JwksTokenVerifier
from playball_groups.adapters.unit_of_work import SqlUnitOfWork
from playball_groups.domain.model import (
    AlreadyMemberError,
    ConcurrentUpdateError,
    Group,
    KnownUser,
    Role,
)
from playball_groups.entrypoints.api import create_app
from playball_groups.entrypoints.bootstrap import build_api
from playball_groups.service_layer.tokens import TokenVerifier
from playball_groups.settings import GroupsSettings
from playball_service_kit.database_sql import is_disconnect
from support.tokens import AUDIENCE, Issuer

from groups.fakes import FakeUnitOfWork, FakeVerifier, Store

ROUNDS = 8  # each race is run this many times: one round may not interleave at all
MAX_BODY = 65_536  # the default of PLAYBALL_GROUPS_MAX_BODY


class Answer(Protocol):
    """What a TestClient answers (httpx's or httpx2's Response, as Starlette finds it)."""

    status_code: int

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class Api:
    """A TestClient on the groups API whose users the view knows; tokens are user ids."""

    def __init__(
        self, client: TestClient, save: Callable[[KnownUser], None], engine: Engine | None = None
    ) -> None:
        self.client = client
        self._save = save
        self.engine = engine  # None on the fake backend

    def user(self) -> uuid.UUID:
        user_id = uuid.uuid4()
        self._save(KnownUser(user_id, 1, False, "u", f"User {user_id.hex[:6]}"))
        return user_id

    @staticmethod
    def auth(user_id: uuid.UUID) -> dict[str, str]:
        return {"Authorization": f"Bearer {user_id}"}

    def new_group(self, admin: uuid.UUID, *members: uuid.UUID) -> str:
        created = self.client.post("/groups", json={"name": "club"}, headers=self.auth(admin))
        assert created.status_code == 201, created.text
        group_id = str(created.json()["id"])
        for member in members:
            added = self.add(group_id, admin, member)
            assert added.status_code == 201, added.text
        return group_id

    def add(self, group_id: str, admin: uuid.UUID, user_id: uuid.UUID) -> Answer:
        return self.client.post(
            f"/groups/{group_id}/members", json={"user_id": str(user_id)}, headers=self.auth(admin)
        )

    def leave(self, group_id: str, user_id: uuid.UUID) -> Answer:
        return self.client.delete(
            f"/groups/{group_id}/members/{user_id}", headers=self.auth(user_id)
        )


def app_on(engine: Engine, verifier: TokenVerifier | None = None) -> FastAPI:
    """The API as ``playball groups serve`` wires it, on ``engine``."""
    return create_app(
        lambda: SqlUnitOfWork(engine),
        verifier or FakeVerifier(),
        is_unavailable=is_disconnect,
    )


def saver(engine: Engine) -> Callable[[KnownUser], None]:
    def save(user: KnownUser) -> None:
        with SqlUnitOfWork(engine) as uow:
            uow.users.save([user])
            uow.commit()

    return save


@pytest.fixture
def sql_api(engine_url: tuple[Engine, str]) -> Iterator[Api]:
    """The API on a fresh PostgreSQL or SQLite database (a 500 is answered, not raised)."""
    engine, _url = engine_url
    with TestClient(app_on(engine), raise_server_exceptions=False) as client:
        yield Api(client, saver(engine), engine)


@pytest.fixture(scope="module")
def fake_api() -> Iterator[Api]:
    store = Store()

    def save(user: KnownUser) -> None:
        store.users[user.user_id] = user

    app = create_app(lambda: FakeUnitOfWork(store), FakeVerifier())
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, save)


def race(*requests: Callable[[], Answer]) -> list[Answer]:
    """Run the requests at once: each thread waits at a barrier until all are ready."""
    barrier = threading.Barrier(len(requests))

    def run(request: Callable[[], Answer]) -> Answer:
        barrier.wait(timeout=30)
        return request()

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(run, requests))


# -- bodies ----------------------------------------------------------------------------------


def test_a_json_body_sent_as_text_plain_is_415(fake_api: Api) -> None:
    """It was a 422 echoing the bytes, and a 500 when they were not UTF-8."""
    admin = fake_api.user()
    group_id = fake_api.new_group(admin)
    for method, path, body in [
        ("POST", "/groups", b'{"name": "club"}'),
        ("PATCH", f"/groups/{group_id}", b'{"name": "club", "version": 1}'),
        ("POST", f"/groups/{group_id}/members", b'{"user_id": "\xff"}'),
    ]:
        answer = fake_api.client.request(
            method,
            path,
            content=body,
            headers={**fake_api.auth(admin), "Content-Type": "text/plain"},
        )
        assert answer.status_code == 415, answer.text
        assert answer.json()["code"] == "unsupported_media_type"


def test_a_body_over_the_limit_is_413_whether_its_length_is_declared_or_not(
    fake_api: Api,
) -> None:
    admin = fake_api.user()
    body = b'{"name": "' + b"x" * 70_000 + b'"}'  # 70 KB
    json_type = {**fake_api.auth(admin), "Content-Type": "application/json"}
    declared = fake_api.client.post("/groups", content=body, headers=json_type)
    streamed = fake_api.client.post("/groups", content=iter([body]), headers=json_type)
    for answer in (declared, streamed):
        assert answer.status_code == 413, answer.text
        assert answer.json()["code"] == "body_too_large"


def test_the_limit_is_playball_groups_max_body(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYBALL_GROUPS_MAX_BODY", "2048")
    with TestClient(build_api(GroupsSettings(), engine=sqlite_engine)) as client:
        for size, status in [(2048, 401), (2049, 413)]:  # 401: no token, read all the same
            body = b'{"name": "' + b"x" * (size - len('{"name": ""}')) + b'"}'
            json_type = {"Content-Type": "application/json"}
            assert client.post("/groups", content=body, headers=json_type).status_code == status


def test_the_openapi_declares_413_and_415_for_every_operation_with_a_body(
    fake_api: Api,
) -> None:
    paths = fake_api.client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            declared = {"413", "415"} & operation["responses"].keys()
            assert declared == ({"413", "415"} if "requestBody" in operation else set()), (
                method,
                path,
            )


# -- races -----------------------------------------------------------------------------------


def test_two_concurrent_adds_of_one_member_are_201_and_409(sql_api: Api) -> None:
    """Without the group's lock both passed the membership check; the second insert then
    hit the primary key: a 500 (IntegrityError)."""
    for _round in range(ROUNDS):
        admin, newcomer = sql_api.user(), sql_api.user()
        group_id = sql_api.new_group(admin)
        answers = race(*[partial(sql_api.add, group_id, admin, newcomer)] * 2)
        added, refused = sorted(answers, key=lambda a: a.status_code)
        assert (added.status_code, refused.status_code) == (201, 409), [a.text for a in answers]
        assert refused.json()["code"] == "already_member"


def test_the_admin_and_the_heir_leaving_together_leave_an_admin(sql_api: Api) -> None:
    """Without the lock each saw the other still there: the admin promoted the heir, the
    heir saw an admin and promoted nobody, and the group was left with no admin."""
    for _round in range(ROUNDS):
        admin, heir, third = sql_api.user(), sql_api.user(), sql_api.user()
        group_id = sql_api.new_group(admin, heir, third)  # heir: the longest-standing member
        answers = race(
            partial(sql_api.leave, group_id, admin), partial(sql_api.leave, group_id, heir)
        )
        assert [a.status_code for a in answers] == [204, 204], [a.text for a in answers]
        members = sql_api.client.get(f"/groups/{group_id}/members", headers=sql_api.auth(third))
        assert [(m["user_id"], m["role"]) for m in members.json()] == [(str(third), "admin")]


def test_the_last_two_members_leaving_together_delete_the_group(sql_api: Api) -> None:
    for _round in range(ROUNDS):
        admin, member = sql_api.user(), sql_api.user()
        group_id = sql_api.new_group(admin, member)
        answers = race(
            partial(sql_api.leave, group_id, admin), partial(sql_api.leave, group_id, member)
        )
        assert [a.status_code for a in answers] == [204, 204], [a.text for a in answers]
        assert sql_api.engine is not None
        with SqlUnitOfWork(sql_api.engine) as uow:
            assert uow.groups.get(uuid.UUID(group_id)) is None


# -- the constraints behind the locks --------------------------------------------------------


def test_a_duplicate_or_dangling_membership_is_a_domain_error(
    engine_url: tuple[Engine, str],
) -> None:
    """What a writer that skipped the lock would hit: the key and the references."""
    engine, _url = engine_url
    admin, member = uuid.uuid4(), uuid.uuid4()
    save = saver(engine)
    for user in (admin, member):
        save(KnownUser(user, 1, False, "u", "User"))
    now = dt.datetime.now(dt.UTC)
    group = Group(uuid.uuid4(), "club", 1, now)
    with SqlUnitOfWork(engine) as uow:
        uow.groups.add(group, admin=admin)
        uow.groups.add_member(group.id, member, Role.MEMBER, now)
        with pytest.raises(AlreadyMemberError):
            uow.groups.add_member(group.id, member, Role.MEMBER, now)
    with SqlUnitOfWork(engine) as uow, pytest.raises(ConcurrentUpdateError):
        uow.groups.add_member(uuid.uuid4(), member, Role.MEMBER, now)  # no such group


# -- an exhausted pool -----------------------------------------------------------------------


@pytest.mark.stack
def test_an_exhausted_pool_is_503_database_busy(postgres_engine: Engine) -> None:
    """It was a 500 (sqlalchemy's pool TimeoutError)."""
    url = postgres_engine.url.render_as_string(hide_password=False)
    one_connection = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    try:
        with TestClient(app_on(one_connection)) as client:  # an error would be raised here
            api = Api(client, saver(one_connection))
            caller = api.user()
            with one_connection.connect():  # the pool's only connection, held
                busy = client.get("/groups", headers=api.auth(caller))
            assert (busy.status_code, busy.json()["code"]) == (503, "database_busy")
            assert busy.headers["Retry-After"] == "1"
            assert client.get("/groups", headers=api.auth(caller)).status_code == 200
    finally:
        one_connection.dispose()


# -- what error bodies say -------------------------------------------------------------------


def test_a_refused_token_is_not_described_by_pyjwt(issuer: Issuer) -> None:
    verifier = JwksTokenVerifier(
        f"{issuer.url}/.well-known/jwks.json", issuer=issuer.url, audience=AUDIENCE
    )
    app = create_app(lambda: FakeUnitOfWork(Store()), verifier)
    with TestClient(app) as client:
        for token in ["not.a.jwt", "garbage", issuer.token(uuid.uuid4(), aud="someone-else")]:
            answer = client.get("/groups", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401
            assert answer.json() == {"detail": "invalid or expired token", "code": "invalid_token"}


def test_unreachable_keys_are_503_without_the_jwks_url(issuer: Issuer) -> None:
    jwks_url = "http://127.0.0.1:9/.well-known/jwks.json"
    verifier = JwksTokenVerifier(jwks_url, issuer=issuer.url, audience=AUDIENCE, timeout=2)
    app = create_app(lambda: FakeUnitOfWork(Store()), verifier)
    with TestClient(app) as client:
        answer = client.get(
            "/groups", headers={"Authorization": f"Bearer {issuer.token(uuid.uuid4())}"}
        )
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "auth_unavailable"
    assert "127.0.0.1" not in answer.text
    assert "jwks" not in answer.text.lower()
