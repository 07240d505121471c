"""The supervisor's service logs are 0640: not readable by other local users."""

import stat
import sys
from pathlib import Path

import pytest
from playball_orchestration.services import ServiceSpec
from playball_orchestration.supervisor import ServiceFailedError, Supervisor


def _prints_and_exits(_spec: ServiceSpec, marker: str) -> list[str]:
    return [sys.executable, "-c", "print('token=...'); raise SystemExit(3)", marker]


def test_a_service_log_is_created_0640_and_an_older_0644_one_tightened(tmp_path: Path) -> None:
    spec = ServiceSpec(
        name="stand-in", command=(), address="http://127.0.0.1:1", health_url="http://127.0.0.1:1/"
    )
    supervisor = Supervisor(tmp_path, lambda _m: None, launcher=_prints_and_exits)
    log = supervisor.log_file(spec)
    for _ in range(2):  # first creates the log, then finds it as an older version left it
        with pytest.raises(ServiceFailedError, match="token"):
            supervisor.start(spec, {})
        assert stat.S_IMODE(log.stat().st_mode) == 0o640
        log.chmod(0o644)
