"""The seed bug is gone: what a user does in auth reaches the groups service.

The system runs as `playball up` runs it: auth over https with a certificate of the
stack's CA (here, a CA of the system's own; the system is shared with the mixed workload,
see conftest.py), groups fetching auth's JWKS through it, and
every process answering ``/healthz`` with the nonce its supervisor started it with.
"""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from playball_core import local_stack
from playball_orchestration.demo import run
from playball_orchestration.probe import health
from playball_orchestration.system import kafka_principal_of
from playball_stack.settings import StackSettings
from playball_stack.stack import Stack
from support.principals import admin_environment
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


def test_the_relay_and_the_consumer_run_as_their_own_kafka_principals(
    system: RunningSystem,
) -> None:
    # what `playball status --json` shows as each process's principal
    principals = {}
    for name in ALL_SERVICES:
        pid = system.supervisor.process(system.specs[name]).pid()
        assert pid is not None, name
        principals[name] = kafka_principal_of(pid)
    assert principals == {
        "auth-api": None,
        "auth-relay": local_stack.KAFKA_RELAY,
        "groups-api": None,
        "groups-consumer": local_stack.KAFKA_CONSUMER,
    }


def _secrets(stack: StackSettings) -> list[str]:
    """Every password the stack generated, and a line of each private key it holds."""
    passwords = local_stack.parse_credentials(
        (local_stack.credentials_directory(stack.home) / ".passwords").read_text()
    )
    keys = [path.read_text().splitlines()[1] for path in (stack.home / "tls").glob("*-key.pem")]
    return [*passwords.values(), *keys]


def _leaks(texts: dict[str, str], secrets: list[str]) -> list[str]:
    return [name for name, text in texts.items() for secret in secrets if secret in text]


def test_no_log_and_no_command_output_shows_a_generated_secret(
    system: RunningSystem, stack: StackSettings, tmp_path: Path
) -> None:
    secrets = _secrets(stack)
    assert len(secrets) >= 10
    # the scan finds what is there: a planted secret in a log-like text
    assert _leaks({"planted": f"connect failed: password={secrets[3]}"}, secrets) == ["planted"]
    outputs = {}
    for words, extra in (
        (["auth", "outbox", "status"], {}),
        (["groups", "dlq", "list"], {}),
        (["stack", "status"], {}),
        # a refused password: the error names the setting, and shows no secret
        (["topics", "ensure"], {"PLAYBALL_KAFKA_SASL_PASSWORD": "not-it"}),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "playball_cli", *words],
            env={**system.env, **admin_environment(stack), **extra},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        outputs[" ".join(words) + repr(extra)] = result.stdout + result.stderr
    assert (
        "PLAYBALL_KAFKA_SASL_PASSWORD"
        in outputs["topics ensure{'PLAYBALL_KAFKA_SASL_PASSWORD': 'not-it'}"]
    )
    logs = {
        str(path): path.read_text(errors="replace")
        for path in [*system.supervisor.root.rglob("*.log"), *Stack(stack).logs().values()]
        if path.is_file()
    }
    assert len(logs) >= 7  # four services, Kafka, the registry, PostgreSQL
    assert _leaks({**outputs, **logs}, secrets) == []
