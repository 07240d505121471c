"""Only the process the supervisor started is its service: whatever else answers on the
port, even with a 200 ``{"status": "ok"}``, is refused and reported by port.

The squatter is an http.server thread in the test process (``squatter.py``); the service
the stand-in of ``test_supervisor``, answering with the nonce it was handed.
"""

import ssl
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playball_orchestration.probe import health
from playball_orchestration.services import ServiceSpec
from playball_orchestration.supervisor import ServiceFailedError, Supervisor
from playball_stack.tls import ensure_server_certificate
from support.stack_env import free_port

from orchestration.squatter import squatting

STAND_IN = Path(__file__).with_name("stand_in.py")
IMPERSONATIONS = {
    "a bare 200 ok": {"status": "ok"},
    "another start's nonce": {"status": "ok", "instance": "replayed-from-an-earlier-start"},
    "a groups-style body": {"status": "ok", "database": "ok", "instance": ""},
}


def stand_in(spec: ServiceSpec, marker: str) -> list[str]:
    return [sys.executable, str(STAND_IN), str(spec.port), marker]


def http_spec() -> ServiceSpec:
    base = f"http://127.0.0.1:{free_port()}"
    return ServiceSpec(name="stand-in", command=(), address=base, health_url=f"{base}/healthz")


@pytest.fixture
def launched() -> list[str]:
    return []


@pytest.fixture
def supervisor(tmp_path: Path, launched: list[str]) -> Iterator[Supervisor]:
    def launcher(spec: ServiceSpec, marker: str) -> list[str]:
        launched.append(spec.name)
        return stand_in(spec, marker)

    supervisor = Supervisor(tmp_path, lambda _m: None, launcher=launcher, start_timeout=30)
    yield supervisor
    for directory in supervisor.root.glob("*"):  # whatever a test left running
        supervisor.stop(ServiceSpec(directory.name, (), "", ""))


@pytest.mark.parametrize("body", IMPERSONATIONS.values(), ids=IMPERSONATIONS.keys())
def test_a_squatter_answering_200_is_refused_and_named_by_port(
    supervisor: Supervisor, launched: list[str], body: dict[str, str]
) -> None:
    spec = http_spec()
    with squatting(spec.port, body) as asked:
        started = time.monotonic()
        with pytest.raises(ServiceFailedError) as refused:
            supervisor.start(spec, {})
        assert time.monotonic() - started < 10  # refused at once, not after the timeout
        message = str(refused.value)
        assert f"port {spec.port}: another process answers there" in message
        assert "not the stand-in this supervisor started" in message
        assert launched == []  # nothing was started that could not have bound the port
        assert "/healthz" in asked

        state = supervisor.status(spec)
        assert not state.healthy
        assert state.problem is not None
        assert f"port {spec.port}: another process answers there" in state.problem


def test_a_squatter_that_takes_the_port_while_the_service_starts_is_named(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    spec = http_spec()
    with ExitStack() as stack:

        def late_squatter(spec: ServiceSpec, marker: str) -> list[str]:
            # binds between the supervisor's check and the service's own bind
            stack.enter_context(squatting(spec.port))
            return stand_in(spec, marker)

        racing = Supervisor(tmp_path, lambda _m: None, launcher=late_squatter, start_timeout=30)
        with pytest.raises(ServiceFailedError) as refused:
            racing.start(spec, {})
        message = str(refused.value)
        assert "exited while starting" in message
        assert f"port {spec.port}: another process answers there" in message
        assert "cannot listen" in message  # and the service's own log says why it left


def test_a_service_killed_and_replaced_by_a_squatter_is_reported_unhealthy(
    supervisor: Supervisor,
) -> None:
    spec = http_spec()
    supervisor.start(spec, {})
    assert supervisor.status(spec).healthy
    supervisor.process(spec).kill()
    with squatting(spec.port, {"status": "ok", "instance": supervisor.instance(spec)}):
        # even the right nonce, replayed, does not make a dead process healthy
        state = supervisor.status(spec)
        assert state.pid is None
        assert not state.healthy
        assert state.problem is not None and f"port {spec.port}" in state.problem


def test_an_https_service_is_checked_against_the_stack_ca_only(
    tmp_path: Path, supervisor: Supervisor
) -> None:
    home = tmp_path / "stack"
    files = ensure_server_certificate(home, "stand-in")
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    spec = ServiceSpec(
        name="stand-in",
        command=(),
        address=base,
        health_url=f"{base}/healthz",
        ca=str(home / "tls" / "ca.pem"),
    )

    def https_stand_in(spec: ServiceSpec, marker: str) -> list[str]:
        return [*stand_in(spec, marker), str(files.certificate), str(files.key)]

    real = Supervisor(tmp_path / "real", lambda _m: None, launcher=https_stand_in)
    try:
        real.start(spec, {})
        assert real.status(spec).healthy
    finally:
        real.stop(spec)

    # a squatter with a certificate of its own CA, for the right name and address
    other = ensure_server_certificate(tmp_path / "elsewhere", "stand-in")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(other.certificate, other.key)
    with squatting(port, tls=context):
        answer = health(spec.health_url, spec.ca)
        assert answer.listening and not answer.healthy
        assert "certificate" in answer.detail
        state = real.status(spec)
        assert not state.healthy
        assert state.problem is not None and f"port {port}" in state.problem
        with pytest.raises(ServiceFailedError, match=f"port {port}: another process answers"):
            supervisor.start(spec, {})
