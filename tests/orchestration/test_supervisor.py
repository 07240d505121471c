"""The supervisor starts a service detached, waits for its health, and stops it whole.

A stand-in service (``stand_in.py``: a small http.server on a free loopback port that
answers ``/healthz`` with its nonce, as every service does) plays the part of the real
ones, so these tests need no stack.
"""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playball_orchestration.probe import answers, health, metric_value
from playball_orchestration.services import ServiceSpec
from playball_orchestration.supervisor import INSTANCE_FILE, ServiceFailedError, Supervisor
from support.stack_env import free_port

STAND_IN = Path(__file__).with_name("stand_in.py")


def stand_in(spec: ServiceSpec, marker: str) -> list[str]:
    return [sys.executable, str(STAND_IN), str(spec.port), marker]


def crashing(_spec: ServiceSpec, marker: str) -> list[str]:
    return [sys.executable, "-c", "import sys; print('boom: bad config'); sys.exit(3)", marker]


@pytest.fixture
def spec() -> ServiceSpec:
    base = f"http://127.0.0.1:{free_port()}"
    return ServiceSpec(name="stand-in", command=(), address=base, health_url=f"{base}/healthz")


@pytest.fixture
def supervisor(tmp_path: Path, spec: ServiceSpec) -> Iterator[Supervisor]:
    messages: list[str] = []
    supervisor = Supervisor(tmp_path, messages.append, launcher=stand_in, start_timeout=30)
    try:
        yield supervisor
    finally:
        supervisor.stop(spec)


def test_start_waits_for_health_and_is_idempotent(
    supervisor: Supervisor, spec: ServiceSpec, tmp_path: Path
) -> None:
    pid = supervisor.start(spec, {})
    assert answers(spec.health_url)
    assert supervisor.status(spec).healthy
    assert supervisor.status(spec).pid == pid
    assert supervisor.log_file(spec).is_relative_to(tmp_path)
    assert supervisor.start(spec, {}) == pid  # already up: not started twice


def test_each_start_gets_a_fresh_nonce_that_the_service_answers_with(
    supervisor: Supervisor, spec: ServiceSpec
) -> None:
    supervisor.start(spec, {})
    first = supervisor.instance(spec)
    assert first is not None and len(first) >= 32
    assert health(spec.health_url).instance == first
    assert (supervisor.root / spec.name / INSTANCE_FILE).stat().st_mode & 0o777 == 0o600
    supervisor.stop(spec)
    assert supervisor.instance(spec) is None
    supervisor.start(spec, {})
    assert supervisor.instance(spec) not in {None, first}
    assert health(spec.health_url).instance == supervisor.instance(spec)


def test_a_running_service_without_a_recorded_nonce_is_started_anew(
    supervisor: Supervisor, spec: ServiceSpec
) -> None:
    # as one started by an older `playball up`: it cannot prove it is the one answering
    pid = supervisor.start(spec, {})
    (supervisor.root / spec.name / INSTANCE_FILE).unlink()
    state = supervisor.status(spec)
    assert not state.healthy
    assert state.problem is not None and "without an instance nonce" in state.problem
    assert supervisor.start(spec, {}) != pid
    assert supervisor.status(spec).healthy


def test_stop_ends_the_process_and_status_says_so(
    supervisor: Supervisor, spec: ServiceSpec
) -> None:
    pid = supervisor.start(spec, {})
    assert supervisor.stop(spec) == pid
    state = supervisor.status(spec)
    assert state.pid is None
    assert not state.healthy
    assert state.problem is None  # down, and nobody else on the port
    assert not answers(spec.health_url)


def test_a_service_that_dies_on_start_is_reported_with_its_log(
    tmp_path: Path, spec: ServiceSpec
) -> None:
    supervisor = Supervisor(tmp_path, lambda _m: None, launcher=crashing, start_timeout=30)
    with pytest.raises(ServiceFailedError, match=r"(?s)exited while starting.*boom: bad config"):
        supervisor.start(spec, {})


def test_metric_value_sums_a_metric_over_its_labels() -> None:
    page = (
        "# TYPE playball_consumer_lag gauge\n"
        'playball_consumer_lag{partition="0"} 3.0\n'
        'playball_consumer_lag{partition="1"} 4.0\n'
        "# TYPE other gauge\nother 9.0\n"
    )
    assert metric_value(page, "playball_consumer_lag") == 7.0
    assert metric_value(page, "playball_outbox_backlog") is None
