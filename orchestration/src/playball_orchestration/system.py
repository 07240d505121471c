"""`up`, `down` and `status` of the whole system, as plain functions the CLI calls."""

import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from playball_core import local_stack
from playball_stack.settings import StackSettings
from playball_stack.stack import Stack

from playball_orchestration.auth_tls import auth_tls, ensure_auth_tls
from playball_orchestration.probe import gauge
from playball_orchestration.services import Ports, service_environment, service_specs
from playball_orchestration.supervisor import Supervisor

STEP_TIMEOUT = 300.0
# Credentials a child of `playball up` never inherits from the shell that ran it: each
# gets its own principal's, from the stack's credentials files. (With an external
# Kafka the shell's client settings are the only ones there are, and are kept.)
KAFKA_CLIENT_VARIABLES = (
    "PLAYBALL_KAFKA_SECURITY_PROTOCOL",
    "PLAYBALL_KAFKA_SASL_MECHANISM",
    "PLAYBALL_KAFKA_SASL_USERNAME",
    "PLAYBALL_KAFKA_SASL_PASSWORD",
    "PLAYBALL_KAFKA_SSL_CA_LOCATION",
    "PLAYBALL_KAFKA_SSL_CERTIFICATE_LOCATION",
    "PLAYBALL_KAFKA_SSL_KEY_LOCATION",
    "PLAYBALL_KAFKA_SSL_KEY_PASSWORD",
)
ADMIN_ONLY_VARIABLES = (local_stack.POSTGRES_ADMIN_URL_VARIABLE,)
SETUP_STEPS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    # (the `playball` words, whose credentials they run with)
    (("topics", "ensure", "--apply-configs"), (local_stack.KAFKA_ADMIN,)),
    (("auth", "migrate"), (local_stack.POSTGRES_AUTH,)),  # as the database's owner
    (("groups", "migrate"), (local_stack.POSTGRES_GROUPS,)),
    (("schemas", "register"), (local_stack.KAFKA_ADMIN,)),  # it ensures topics too
)


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
    principal: str | None = None  # the Kafka principal the running process connects as

    def as_json(self) -> dict[str, object]:
        counts = {key: None if v is None else round(v) for key, v in self.extra.items()}
        return {
            "name": self.name,
            "address": self.address,
            "pid": self.pid,
            "healthy": self.healthy,
            **counts,
            "principal": self.principal,
            "problem": self.problem,
        }


class System:
    def __init__(
        self,
        settings: StackSettings,
        progress: Callable[[str], None],
        brokers: int | None = None,
        ports: Ports | None = None,
    ) -> None:
        self.stack = Stack(settings, brokers=brokers, progress=progress)
        self.ports = ports or Ports()
        self.settings = settings
        self.progress = progress
        self.services = Supervisor(settings.home, progress)
        # auth over https with a certificate of the stack's CA (made by `up`)
        self.tls = auth_tls(settings.home)
        self.specs = service_specs(self.ports, self.tls)

    def environment(self, principals: Sequence[str] = ()) -> dict[str, str]:
        """A child's whole environment: ours without credentials, the addresses, and the
        credentials of ``principals`` (of the stack's own Kafka and PostgreSQL only)."""
        stripped = set(ADMIN_ONLY_VARIABLES)
        if self.stack.kafka is not None:
            stripped.update(KAFKA_CLIENT_VARIABLES)
        env = {name: value for name, value in os.environ.items() if name not in stripped}
        env.update(
            service_environment(
                self.stack.kafka_bootstrap,
                self.stack.registry_url,
                self.settings.database_url,  # external; None: each role's own URL
                self.ports,
                tls=self.tls,
            )
        )
        for principal in principals:
            kafka = principal in local_stack.KAFKA_CLIENT_PRINCIPALS
            if (self.stack.kafka if kafka else self.stack.postgres) is None:
                continue  # external: the shell's settings (kept above) apply
            env.update(local_stack.read_credentials(self.settings.home, principal) or {})
        return env

    def run_step(self, words: Sequence[str], env: Mapping[str, str]) -> None:
        """One `playball` command to completion; its output shown only when it fails."""
        self.progress(f"playball {' '.join(words)}")
        try:
            result = subprocess.run(
                [sys.executable, "-m", "playball_cli", *words],
                env=dict(env),
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
        # a deploy brings topic settings along (--apply-configs); each step runs as the
        # principal it needs, each service as its own
        for words, principals in SETUP_STEPS:
            self.run_step(words, self.environment(principals))
        for spec in self.specs:
            self.services.start(spec, self.environment(spec.principals))

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
            shown = list(spec.more_metrics)
            if spec.metric is not None and spec.metric_label is not None:
                shown.insert(0, (spec.metric, spec.metric_label))
            for metric, label in shown:
                extra[label] = gauge(spec.address, metric) if state.healthy else None
            reports.append(
                ComponentReport(
                    spec.name,
                    spec.address,
                    state.pid,
                    state.healthy,
                    extra,
                    state.problem,
                    principal=None if state.pid is None else kafka_principal_of(state.pid),
                )
            )
        return reports


def kafka_principal_of(pid: int) -> str | None:
    """The SASL user a running process was started with (from its environment, which
    only its owner may read), None for one without Kafka credentials."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    for entry in environ.split(b"\0"):
        name, _, value = entry.partition(b"=")
        if name == b"PLAYBALL_KAFKA_SASL_USERNAME":
            return value.decode(errors="replace")
    return None
