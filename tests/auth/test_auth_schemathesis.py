"""schemathesis against the auth API's OpenAPI, on SQLite and PostgreSQL.

Every operation is exercised with positive and negative data, drawn from each
operation's hypothesis strategy (schemathesis's examples phase); its coverage phase
(boundaries, NUL bytes, missing fields) and stateful phase are NOT run here: see the
note on pytest 9.2 below. Operations behind a token get a valid one, for a user created
for that case, so DELETE /users/me never starves the others.
No server error is allowed, every response must match its declared status and schema, and
there is no baseline of accepted failures.
"""

import uuid
from collections.abc import Callable

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from playball_auth.entrypoints.api import create_app
from playball_auth.service_layer.ports import AuthPorts
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.auth_backends import AuthBackend, sql_backend_for

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
]
OPERATIONS = {
    "POST /users",
    "POST /token",
    "GET /.well-known/jwks.json",
    "GET /users/me",
    "PATCH /users/me",
    "DELETE /users/me",
    "GET /healthz",
}
# negative data needs something to negate: these take a body or form
WITH_INPUT = {"POST /users", "POST /token", "PATCH /users/me"}
MAX_EXAMPLES = 30


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.stack)])
def backend(request: pytest.FixtureRequest) -> AuthBackend:
    """Overrides the suite-wide one: schemathesis runs on the real databases only."""
    return sql_backend_for(request.param, request)


@pytest.fixture
def auth_schema(ports: AuthPorts) -> schemathesis.schemas.BaseSchema:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(ports))
    schema.config.generation.update(max_examples=MAX_EXAMPLES)
    return schema


@pytest.fixture
def fresh_token(ports: AuthPorts) -> Callable[[], str]:
    """A token of a new user: a case may delete or change its user."""
    client = TestClient(create_app(ports))

    def make() -> str:
        name = f"st{uuid.uuid4().hex[:16]}"
        created = client.post(
            "/users",
            json={
                "username": name,
                "email": f"{name}@example.org",
                "password": "correct horse",
                "display_name": name,
            },
        )
        assert created.status_code == 201, created.text
        response = client.post("/token", data={"username": name, "password": "correct horse"})
        token: str = response.json()["access_token"]
        return token

    return make


def test_the_schema_declares_every_operation(
    auth_schema: schemathesis.schemas.BaseSchema,
) -> None:
    found = set()
    for result in auth_schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err raises here, failing
        found.add(f"{operation.method.upper()} {operation.path}")
    assert found == OPERATIONS


# schemathesis's own pytest integration (``from_fixture``) fails on pytest 9.2 (it reads
# the removed ``Item._nodeid``), so each operation and mode is a test of its own here,
# driven by the operation's hypothesis strategy: the same generation, checks and limits.
@pytest.mark.parametrize(
    ("label", "mode"),
    [(label, GenerationMode.POSITIVE) for label in sorted(OPERATIONS)]
    + [(label, GenerationMode.NEGATIVE) for label in sorted(WITH_INPUT)],
    ids=str,
)
def test_api_conforms_to_its_openapi(
    label: str,
    mode: GenerationMode,
    auth_schema: schemathesis.schemas.BaseSchema,
    fresh_token: Callable[[], str],
) -> None:
    method, path = label.split(" ", 1)
    operation = auth_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, suppress_health_check=list(HealthCheck))
    def conforms(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
        headers = {}
        if path == "/users/me":
            headers["Authorization"] = f"Bearer {fresh_token()}"
        case.call_and_validate(headers=headers, checks=CHECKS)

    conforms()
