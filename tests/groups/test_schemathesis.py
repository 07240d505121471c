"""schemathesis against the real groups API (``playball groups serve``) on PostgreSQL.

Every phase runs: examples, coverage, fuzzing, and stateful sequences along the
OpenAPI's links (create a group, then read, rename and delete it, list, add and remove
its members). Every check runs; there is no baseline of accepted failures: one failure
fails the test, with schemathesis' report and the server's log. Tokens come from a
stand-in issuer (support/tokens.py), for a caller the groups view knows. See
support/schemathesis_run.py for why the CLI runs it, and
support/schemathesis_groups_hooks.py for the token and the members added.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playball_groups.adapters.database import make_engine
from playball_groups.adapters.unit_of_work import SqlUnitOfWork
from playball_groups.domain.model import KnownUser
from playball_groups.entrypoints.api import create_app
from support.databases import fresh_postgres
from support.openapi_links import link_problems, links
from support.schemathesis_run import ServedApi, run_schemathesis, served_api
from support.tokens import jwks_server

from groups.fakes import FakeUnitOfWork, FakeVerifier, Store

# per operation and phase: each phase has its say, and the run stays within seconds. In
# the full suite on 2 shared cores, 25 made the two runs ~150 s of the suite's CPU, 15
# still ~90 s; the coverage phase's cases (boundaries, each field missing or wrong) do
# not depend on it.
MAX_EXAMPLES = 10
SEED = 17
KNOWN_USERS = 20  # besides the caller: users that may be added as members


def test_the_links_lead_to_declared_operations_parameters_and_fields() -> None:
    with TestClient(create_app(lambda: FakeUnitOfWork(Store()), FakeVerifier())) as client:
        document = client.get("/openapi.json").json()
    assert link_problems(document) == []
    assert links(document)[("POST /groups", "201")] >= {
        "GET /groups/{group_id}",
        "PATCH /groups/{group_id}",
        "DELETE /groups/{group_id}",
        "GET /groups/{group_id}/members",
        "POST /groups/{group_id}/members",
    }


@dataclass(frozen=True)
class GroupsApi:
    api: ServedApi
    caller: uuid.UUID
    token: str  # the caller's
    known_users: list[uuid.UUID]


def _known(database: str, users: list[uuid.UUID]) -> None:
    """Put ``users`` in the view, as the consumer would on their registration."""
    engine = make_engine(database)
    try:
        with SqlUnitOfWork(engine) as uow:
            uow.users.save(
                [KnownUser(user, 1, False, f"u{i}", f"User {i}") for i, user in enumerate(users)]
            )
            uow.commit()
    finally:
        engine.dispose()


@pytest.fixture
def groups_api(database_url: str, tmp_path: Path) -> Iterator[GroupsApi]:
    """The API on a fresh database, trusting a stand-in issuer's keys."""
    with jwks_server() as issuer, fresh_postgres(database_url, "playball_groups_st") as database:
        env = {"PLAYBALL_GROUPS_DATABASE_URL": database, "PLAYBALL_AUTH_URL": issuer.url}
        with served_api("groups", env, tmp_path) as api:
            caller, *others = [uuid.uuid4() for _ in range(KNOWN_USERS + 1)]
            _known(database, [caller, *others])
            yield GroupsApi(api, caller, issuer.token(caller), others)


@pytest.mark.stack
@pytest.mark.slow  # 10-20 s: handed out first, so it never starts last
def test_the_groups_api_passes_every_schemathesis_phase(
    groups_api: GroupsApi, tmp_path: Path
) -> None:
    outcome = run_schemathesis(
        groups_api.api,
        tmp_path / "schemathesis",
        hooks="support.schemathesis_groups_hooks",
        env={
            "PLAYBALL_ST_CALLER": str(groups_api.caller),
            "PLAYBALL_ST_GROUPS_TOKEN": groups_api.token,
            "PLAYBALL_ST_KNOWN_USERS": ",".join(map(str, groups_api.known_users)),
        },
        max_examples=MAX_EXAMPLES,
        seed=SEED,
    )
    assert outcome.exit_code == 0, outcome.explain()
    assert not outcome.phases_not_passed, outcome.explain()
    for phase in ("coverage", "fuzzing"):
        assert outcome.tested(phase) == groups_api.api.operations(), phase
    assert outcome.stateful_scenarios, f"no stateful scenario ran\n{outcome.explain()}"
    assert outcome.declared_links_followed, f"no declared link followed\n{outcome.explain()}"
