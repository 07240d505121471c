"""The seed bug is gone: what a user does in auth reaches the groups service.

The system runs as `playball up` runs it: auth over https with a certificate of the
stack's CA (here, a CA of the system's own; the system is shared with the mixed workload,
see conftest.py), groups fetching auth's JWKS through it, and
every process answering ``/healthz`` with the nonce its supervisor started it with.
"""

import httpx
import pytest
from playball_orchestration.demo import run
from playball_orchestration.probe import health
from support.system import ALL_SERVICES, RunningSystem

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.xdist_group("e2e-system")]


def test_a_new_user_creates_a_group_and_later_changes_reach_the_group(
    system: RunningSystem,
) -> None:
    assert system.auth_url.startswith("https://127.0.0.1:")
    assert system.tls is not None
    lines: list[str] = []
    # groups verifies every token of the flow with keys fetched over https from auth
    timings = run(system.auth_url, system.groups_url, lines.append, ca=str(system.tls.ca))
    # run() raises on any step that does not happen; each event type was seen to arrive
    assert set(timings) == {"UserRegistered", "UserUpdated", "UserDeleted"}
    assert any("Alice is no longer a member" in line for line in lines)


def test_every_service_answers_with_the_nonce_it_was_started_with(
    system: RunningSystem,
) -> None:
    nonces = set()
    for name in ALL_SERVICES:
        spec = system.specs[name]
        nonce = system.supervisor.instance(spec)
        answer = health(spec.health_url, spec.ca)
        assert answer.healthy, f"{name}: {answer.detail}"
        assert nonce is not None and answer.instance == nonce, name
        nonces.add(nonce)
    assert len(nonces) == len(ALL_SERVICES)  # one per start, never shared


def test_auth_is_not_trusted_without_the_stack_ca(system: RunningSystem) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{system.auth_url}/healthz", timeout=5)  # the system's trust store only
