"""The service processes on this machine: started detached, waited for, stopped whole.

Each runs in its own session under ``<stack home>/services/<name>/`` (pid file, log, and
the nonce it was started with), through :mod:`playball_orchestration.run` so its command
line carries that directory.

Only the process it started counts as a service: each start is handed a fresh nonce
(``PLAYBALL_INSTANCE_NONCE``, :mod:`playball_core.instance`), and a service is healthy
only while its ``/healthz`` answers 200 with that nonce. A 200 from anything else on the
port (another program that bound it first, or bound it while the service was down) is
reported as what it is: another process answering there.
"""

import os
import secrets
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from playball_core.instance import INSTANCE_VARIABLE
from playball_stack.ports import holder_of, is_listening
from playball_stack.processes import ManagedProcess, tail

from playball_orchestration.probe import HealthAnswer, health
from playball_orchestration.services import ServiceSpec

START_TIMEOUT = 90.0  # a cold Python start with FastAPI and confluent-kafka, on 2 busy cores
STOP_TIMEOUT = 30.0  # the relay and consumer flush in-flight work on SIGTERM
NONCE_BYTES = 24  # 192 random bits, far beyond guessing
INSTANCE_FILE = "instance"


class ServiceFailedError(Exception):
    """A service did not become healthy; the message carries the tail of its log."""


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    spec: ServiceSpec
    pid: int | None
    healthy: bool
    problem: str | None = None  # e.g. another process answering on the service's port


Launcher = Callable[[ServiceSpec, str], list[str]]


def playball_launcher(spec: ServiceSpec, marker: str) -> list[str]:
    """The argv that runs ``playball <spec.command>`` with ``marker`` on its command line."""
    return [sys.executable, "-m", "playball_orchestration.run", marker, *spec.command]


def squatter_message(spec: ServiceSpec, answer: HealthAnswer | None = None) -> str:
    """Port, holder and what it answered: what an operator needs to find the intruder."""
    holder = holder_of(spec.port) or "a process this user cannot see"
    said = f"; {answer.detail}" if answer is not None and answer.detail else ""
    return (
        f"port {spec.port}: another process answers there ({holder}), not the {spec.name} "
        f"this supervisor started (no /healthz with the nonce it was given{said}); "
        "stop that process or free the port"
    )


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

    def instance(self, spec: ServiceSpec) -> str | None:
        """The nonce the running start of ``spec`` was handed, None when none is known."""
        try:
            return (self.root / spec.name / INSTANCE_FILE).read_text().strip() or None
        except OSError:
            return None

    def start(self, spec: ServiceSpec, env: Mapping[str, str]) -> int:
        """Start ``spec`` unless it runs already, and wait until it answers as itself.

        ``env`` is its whole environment: nothing of ours (our credentials) is inherited.
        """
        process = self.process(spec)
        pid = process.pid()
        nonce = self.instance(spec)
        if pid is not None and health(spec.health_url, spec.ca).is_instance(nonce):
            self.progress(f"{spec.name} is already up (pid {pid})")
            return pid
        if pid is not None and nonce is None:
            # ours by its command line, but started before nonces (or its record is lost):
            # it cannot prove which process answers on its port, so it is started anew
            self.progress(f"restarting {spec.name} (pid {pid}): it has no instance nonce")
            process.stop(timeout=STOP_TIMEOUT)
            pid = None
        if pid is None or nonce is None:
            if is_listening(spec.port):  # it could not bind; and we would take its 200s
                raise ServiceFailedError(squatter_message(spec, health(spec.health_url, spec.ca)))
            nonce = self._new_instance(spec)
            argv = self.launcher(spec, process.marker)
            pid = process.start(argv, {**env, INSTANCE_VARIABLE: nonce}, inherit=False)
            self.progress(f"started {spec.name} (pid {pid}), log {process.log_file}")
        # else: our start, not answering as itself yet (still starting): wait for it
        self._wait_healthy(spec, process, nonce)
        self.progress(f"{spec.name} is up at {spec.address}")
        return pid

    def _new_instance(self, spec: ServiceSpec) -> str:
        """A fresh nonce, recorded 0600 beside the pid file for later `up` and `status`."""
        nonce = secrets.token_urlsafe(NONCE_BYTES)
        directory = self.root / spec.name
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / INSTANCE_FILE
        path.unlink(missing_ok=True)  # created afresh below, so the mode is ours
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as record:
            record.write(f"{nonce}\n")
        return nonce

    def _wait_healthy(self, spec: ServiceSpec, process: ManagedProcess, nonce: str) -> None:
        deadline = time.monotonic() + self.start_timeout
        while not (answer := health(spec.health_url, spec.ca)).is_instance(nonce):
            if process.pid() is None:
                self._failed(spec, process, "exited while starting", answer, nonce)
            if time.monotonic() > deadline:
                why = f"not healthy within {self.start_timeout:.0f} s"
                self._failed(spec, process, why, answer, nonce)
            time.sleep(0.2)

    @staticmethod
    def _failed(
        spec: ServiceSpec, process: ManagedProcess, why: str, answer: HealthAnswer, nonce: str
    ) -> None:
        # a port someone else answers on explains an exit (bind failed) or a long wait
        if is_foreign(answer, nonce, running=process.pid() is not None):
            cause = squatter_message(spec, answer)
        else:
            cause = f"{spec.health_url}: {answer.detail or 'no answer'}"
        msg = f"{spec.name} {why} ({cause}); last lines of {process.log_file}:\n"
        raise ServiceFailedError(msg + tail(process.log_file))

    def stop(self, spec: ServiceSpec) -> int | None:
        """SIGTERM the service's process group (SIGKILL after the grace); its old pid."""
        process = self.process(spec)
        pid = process.pid()
        process.stop(timeout=STOP_TIMEOUT)
        (self.root / spec.name / INSTANCE_FILE).unlink(missing_ok=True)
        return pid

    def status(self, spec: ServiceSpec) -> ServiceStatus:
        pid = self.process(spec).pid()
        nonce = self.instance(spec) if pid is not None else None
        answer = health(spec.health_url, spec.ca)
        if pid is not None and answer.is_instance(nonce):
            return ServiceStatus(spec, pid, healthy=True)
        problem = None
        if pid is not None and nonce is None and answer.listening:
            problem = f"pid {pid} was started without an instance nonce: `playball up` restarts it"
        elif is_foreign(answer, nonce, running=pid is not None) or (
            pid is None and is_listening(spec.port)
        ):
            problem = squatter_message(spec, answer)
        return ServiceStatus(spec, pid, healthy=False, problem=problem)


def is_foreign(answer: HealthAnswer, nonce: str | None, *, running: bool) -> bool:
    """Whether ``answer`` comes from another process than the start handed ``nonce``.

    Anything answering while our process is gone is another's; while it runs, a 200
    without its nonce, or a certificate the CA does not vouch for, is. An error answer
    without a nonce (auth's 503 while its database is down) is taken as its own.
    """
    if not answer.listening or (nonce is not None and answer.instance == nonce):
        return False
    return not running or answer.healthy or answer.status_code is None
