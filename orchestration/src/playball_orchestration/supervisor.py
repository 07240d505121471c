"""The service processes on this machine: started detached, waited for, stopped whole.

Each runs in its own session under ``<stack home>/services/<name>/`` (pid file and log),
through :mod:`playball_orchestration.run` so its command line carries that directory.
"""

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from playball_stack.processes import ManagedProcess, tail

from playball_orchestration.probe import answers
from playball_orchestration.services import ServiceSpec

START_TIMEOUT = 90.0  # a cold Python start with FastAPI and confluent-kafka, on 2 busy cores
STOP_TIMEOUT = 30.0  # the relay and consumer flush in-flight work on SIGTERM


class ServiceFailedError(Exception):
    """A service did not become healthy; the message carries the tail of its log."""


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    spec: ServiceSpec
    pid: int | None
    healthy: bool


Launcher = Callable[[ServiceSpec, str], list[str]]


def playball_launcher(spec: ServiceSpec, marker: str) -> list[str]:
    """The argv that runs ``playball <spec.command>`` with ``marker`` on its command line."""
    return [sys.executable, "-m", "playball_orchestration.run", marker, *spec.command]


class Supervisor:
    def __init__(
        self,
        home: Path,
        progress: Callable[[str], None],
        launcher: Launcher = playball_launcher,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.root = home / "services"
        self.progress = progress
        self.launcher = launcher
        self.start_timeout = start_timeout

    def process(self, spec: ServiceSpec) -> ManagedProcess:
        directory = self.root / spec.name
        return ManagedProcess(
            name=spec.name,
            pid_file=directory / "pid",
            log_file=directory / f"{spec.name}.log",
            marker=str(directory),
        )

    def log_file(self, spec: ServiceSpec) -> Path:
        return self.process(spec).log_file

    def start(self, spec: ServiceSpec, env: Mapping[str, str]) -> int:
        """Start ``spec`` unless it runs already, and wait until it answers."""
        process = self.process(spec)
        pid = process.pid()
        if pid is not None and answers(spec.health_url):
            self.progress(f"{spec.name} is already up (pid {pid})")
            return pid
        if pid is None:
            process.pid_file.parent.mkdir(parents=True, exist_ok=True)
            pid = process.start(self.launcher(spec, process.marker), env)
            self.progress(f"started {spec.name} (pid {pid}), log {process.log_file}")
        self._wait_healthy(spec, process)
        self.progress(f"{spec.name} is up at {spec.address}")
        return pid

    def _wait_healthy(self, spec: ServiceSpec, process: ManagedProcess) -> None:
        deadline = time.monotonic() + self.start_timeout
        while not answers(spec.health_url):
            if process.pid() is None:
                self._failed(spec, process, "exited while starting")
            if time.monotonic() > deadline:
                self._failed(spec, process, f"not healthy within {self.start_timeout:.0f} s")
            time.sleep(0.2)

    @staticmethod
    def _failed(spec: ServiceSpec, process: ManagedProcess, why: str) -> None:
        msg = (
            f"{spec.name} {why} ({spec.health_url} did not answer); "
            f"last lines of {process.log_file}:\n{tail(process.log_file)}"
        )
        raise ServiceFailedError(msg)

    def stop(self, spec: ServiceSpec) -> int | None:
        """SIGTERM the service's process group (SIGKILL after the grace); its old pid."""
        process = self.process(spec)
        pid = process.pid()
        process.stop(timeout=STOP_TIMEOUT)
        return pid

    def status(self, spec: ServiceSpec) -> ServiceStatus:
        pid = self.process(spec).pid()
        return ServiceStatus(spec, pid, pid is not None and answers(spec.health_url))
