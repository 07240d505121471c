"""schemathesis against the real auth API (``playball auth serve``) on PostgreSQL.

Every phase runs: examples, coverage (boundaries, NUL bytes, missing fields, wrong
content types), fuzzing, and stateful sequences along the OpenAPI's links (register, log
in with the password just registered, use the account token on the account, refresh and
revoke the groups tokens). Every check runs; there is no baseline of accepted failures:
one failure fails the test, with schemathesis' report and the server's log. See
support/schemathesis_run.py for why the CLI runs it, and support/schemathesis_auth_hooks.py
for the accounts the ``/users/me`` cases run as.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.auth_backends import AuthBackend, FakeBackend
from support.databases import fresh_postgres
from support.openapi_links import link_problems, links
from support.schemathesis_run import ServedApi, run_schemathesis, served_api
from support.system import PASSWORD_COST_ENV

# per operation and phase: each phase has its say, and the run stays within seconds. In
# the full suite on 2 shared cores, 25 made the two runs ~150 s of the suite's CPU, 15
# still ~90 s; the coverage phase's cases (boundaries, each field missing or wrong) do
# not depend on it.
MAX_EXAMPLES = 10
SEED = 17

# Throttled per client address, every /token case after the 20th failed login (nearly
# all of schemathesis' are) would answer 429 for a minute: the rest of /token's contract
# would go untested. The throttle has tests of its own; the per-account one stays on.
UNTHROTTLED = {"PLAYBALL_AUTH_THROTTLE_ADDRESS_FAILURES_PER_MIN": "100000"}


@pytest.fixture
def backend() -> AuthBackend:
    """The fakes alone (overrides the suite's backends): the OpenAPI needs no storage."""
    return FakeBackend()


def test_the_links_lead_to_declared_operations_parameters_and_fields(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert link_problems(document) == []
    assert "POST /token" in links(document)[("POST /users", "201")]


@pytest.fixture
def auth_api(database_url: str, tmp_path: Path) -> Iterator[ServedApi]:
    with fresh_postgres(database_url, "playball_auth_st") as database:
        env = {
            "PLAYBALL_AUTH_DATABASE_URL": database,
            # the development signing key, generated in here on the first start
            "XDG_DATA_HOME": str(tmp_path / "data"),
            **PASSWORD_COST_ENV,  # argon2id's floor: every registration and login hashes
            **UNTHROTTLED,
        }
        with served_api("auth", env, tmp_path) as api:
            yield api


@pytest.mark.stack
@pytest.mark.slow  # 10-20 s: handed out first, so it never starts last
def test_the_auth_api_passes_every_schemathesis_phase(auth_api: ServedApi, tmp_path: Path) -> None:
    outcome = run_schemathesis(
        auth_api,
        tmp_path / "schemathesis",
        hooks="support.schemathesis_auth_hooks",
        env={"PLAYBALL_ST_AUTH_URL": auth_api.url},
        max_examples=MAX_EXAMPLES,
        seed=SEED,
    )
    assert outcome.exit_code == 0, outcome.explain()
    assert not outcome.phases_not_passed, outcome.explain()
    for phase in ("coverage", "fuzzing"):
        assert outcome.tested(phase) == auth_api.operations(), phase
    assert outcome.stateful_scenarios, f"no stateful scenario ran\n{outcome.explain()}"
    assert outcome.declared_links_followed, f"no declared link followed\n{outcome.explain()}"
