"""schemathesis against the groups API's OpenAPI, with valid tokens, on PostgreSQL.

No accepted-failures baseline: every check schemathesis runs by default must pass. Half
of the generated ids are swapped for real ones (a group the caller administers, a user
the view knows) so the success paths are exercised too, not only the 404/409s.
"""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from playball_groups.adapters.database import Engine
from playball_groups.adapters.jwks import JwksTokenVerifier
from playball_groups.adapters.unit_of_work import SqlUnitOfWork
from playball_groups.domain.model import KnownUser
from playball_groups.entrypoints.api import create_app
from playball_groups.service_layer import groups as use_cases
from playball_groups.service_layer.tokens import TokenVerifier
from playball_service_kit.database_sql import is_disconnect
from support.tokens import AUDIENCE, Issuer

# one worker: the last test checks what the others recorded in ``called``
pytestmark = [pytest.mark.stack, pytest.mark.xdist_group("groups-schemathesis")]

OPERATIONS = {
    ("GET", "/healthz"),
    ("GET", "/groups"),
    ("POST", "/groups"),
    ("GET", "/groups/{group_id}"),
    ("PATCH", "/groups/{group_id}"),
    ("DELETE", "/groups/{group_id}"),
    ("GET", "/groups/{group_id}/members"),
    ("POST", "/groups/{group_id}/members"),
    ("DELETE", "/groups/{group_id}/members/{user_id}"),
}
called: set[tuple[str, str]] = set()


class World:
    def __init__(self, engine: Engine, issuer: Issuer) -> None:
        self.engine = engine
        self.caller = self.known_user("Caller")
        self.token = issuer.token(self.caller)

    def known_user(self, name: str) -> uuid.UUID:
        user_id = uuid.uuid4()
        with SqlUnitOfWork(self.engine) as uow:
            uow.users.save([KnownUser(user_id, 1, False, name.lower(), name)])
            uow.commit()
        return user_id

    def group_with_member(self) -> tuple[uuid.UUID, uuid.UUID]:
        group = use_cases.create_group(SqlUnitOfWork(self.engine), self.caller, "g")
        member = self.known_user("Member")
        use_cases.add_member(SqlUnitOfWork(self.engine), self.caller, group.id, member)
        return group.id, member


class Deferred(TokenVerifier):
    """The module's app exists at import (schemathesis parametrizes from it); its token
    verifier and database are plugged in by the fixture, before any request is made."""

    target: TokenVerifier | None = None
    engine: Engine | None = None

    def caller(self, token: str) -> uuid.UUID:
        assert self.target is not None
        return self.target.caller(token)

    def unit_of_work(self) -> SqlUnitOfWork:
        assert self.engine is not None
        return SqlUnitOfWork(self.engine)


deferred = Deferred()
app = create_app(deferred.unit_of_work, deferred, is_unavailable=is_disconnect)
# schemathesis' fixture-based loader breaks on pytest 9 (``Function._nodeid``), so the
# schema is loaded from the app at import; the app's dependencies are the fixture's job.
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def world(postgres_engine: Engine, issuer: Issuer) -> Iterator[World]:
    deferred.engine = postgres_engine
    deferred.target = JwksTokenVerifier(
        f"{issuer.url}/.well-known/jwks.json", issuer=issuer.url, audience=AUDIENCE
    )
    yield World(postgres_engine, issuer)
    deferred.engine = deferred.target = None


def _pick(value: object) -> bool:
    """Whether to swap this generated id for a real one: half of the valid UUIDs."""
    try:
        return uuid.UUID(str(value)).int % 2 == 0
    except ValueError:
        return False  # negative cases keep their malformed ids


def _use_real_ids(case: Any, world: World) -> None:
    group_id, member = world.group_with_member()
    params = case.path_parameters or {}
    if _pick(params.get("group_id")):
        params["group_id"] = str(group_id)
    if _pick(params.get("user_id")):
        params["user_id"] = str(member)
    body = case.body
    if isinstance(body, dict) and _pick(body.get("user_id")):
        body["user_id"] = str(world.known_user("Newcomer"))


@schema.parametrize()
def test_api_conforms_to_its_openapi(case: Any, world: World) -> None:
    called.add((case.method.upper(), case.path))
    _use_real_ids(case, world)
    case.call_and_validate(headers={"Authorization": f"Bearer {world.token}"})


def test_every_operation_is_documented_and_was_exercised() -> None:
    documented = {
        (operation.method.upper(), operation.path)
        for operation in (result.ok() for result in schema.get_all_operations())  # type: ignore[union-attr]
    }
    assert documented == OPERATIONS
    assert called >= OPERATIONS  # plus the unsupported-method probes schemathesis adds
