"""`up`, `down` and `status` of the whole system, as plain functions the CLI calls."""

import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from playball_stack.settings import StackSettings
from playball_stack.stack import Stack

from playball_orchestration.auth_tls import auth_tls, ensure_auth_tls
from playball_orchestration.probe import gauge
from playball_orchestration.services import Ports, service_environment, service_specs
from playball_orchestration.supervisor import Supervisor

STEP_TIMEOUT = 300.0


class StepFailedError(Exception):
    """A setup step (topics, migrations, registration) failed; the message has its output."""


@dataclass(frozen=True, slots=True)
class ComponentReport:
    name: str
    address: str
    pid: int | None
    healthy: bool
    extra: Mapping[str, float | None]  # lag of the consumer, backlog of the relay
    problem: str | None = None  # e.g. another process answering on a service's port

    def as_json(self) -> dict[str, object]:
        counts = {key: None if v is None else round(v) for key, v in self.extra.items()}
        return {
            "name": self.name,
            "address": self.address,
            "pid": self.pid,
            "healthy": self.healthy,
            **counts,
            "problem": self.problem,
        }


class System:
    def __init__(self, settings: StackSettings, progress: Callable[[str], None]) -> None:
        self.stack = Stack(settings, progress=progress)
        self.settings = settings
        self.progress = progress
        self.services = Supervisor(settings.home, progress)
        # auth over https with a certificate of the stack's CA (made by `up`)
        self.tls = auth_tls(settings.home)
        self.specs = service_specs(Ports(), self.tls)

    def environment(self) -> dict[str, str]:
        return service_environment(
            self.stack.kafka_bootstrap,
            self.stack.registry_url,
            self.settings.effective_database_url,
            tls=self.tls,
        )

    def run_step(self, words: Sequence[str], env: Mapping[str, str]) -> None:
        """One `playball` command to completion; its output shown only when it fails."""
        self.progress(f"playball {' '.join(words)}")
        try:
            result = subprocess.run(
                [sys.executable, "-m", "playball_cli", *words],
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                check=False,
                timeout=STEP_TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            msg = f"`playball {' '.join(words)}` did not finish within {STEP_TIMEOUT:.0f} s"
            raise StepFailedError(msg) from exc
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()[-3000:]
            msg = f"`playball {' '.join(words)}` exited {result.returncode}:\n{output}"
            raise StepFailedError(msg)

    def up(self) -> None:
        """Stack, topics, databases, contracts, then the four services; idempotent."""
        self.stack.up()
        ensure_auth_tls(self.settings.home)  # the CA is the stack's; auth's own cert here
        env = self.environment()
        for words in (
            ("topics", "ensure", "--apply-configs"),  # a deploy brings topic settings along
            ("auth", "migrate"),
            ("groups", "migrate"),
            ("schemas", "register"),
        ):
            self.run_step(words, env)
        for spec in self.specs:
            self.services.start(spec, env)

    def down(self) -> None:
        """The services (flushing their in-flight work), then the stack; data is kept."""
        for spec in reversed(self.specs):
            pid = self.services.stop(spec)
            if pid is not None:
                self.progress(f"stopped {spec.name} (pid {pid})")
        self.stack.down()

    def status(self) -> list[ComponentReport]:
        reports = [
            ComponentReport(row.name, row.address, row.pid, row.healthy, {})
            for row in self.stack.status()
        ]
        for spec in self.specs:
            state = self.services.status(spec)
            extra: dict[str, float | None] = {}
            if spec.metric is not None and spec.metric_label is not None:
                value = gauge(spec.address, spec.metric) if state.healthy else None
                extra[spec.metric_label] = value
            reports.append(
                ComponentReport(
                    spec.name, spec.address, state.pid, state.healthy, extra, state.problem
                )
            )
        return reports
