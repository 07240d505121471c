"""The local stack as a whole: which components run, in what order, and their state.

Start order follows dependencies: PostgreSQL first (the registry stores its schemas
there), then the registry and Kafka together (two slow JVMs starting side by side).
Anything the settings point elsewhere (``DATABASE_URL``, ``PLAYBALL_KAFKA_BOOTSTRAP``,
``PLAYBALL_SCHEMA_REGISTRY_URL``) is external: not started, not stopped, only probed
(by ``status``).
"""

import shlex
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
from playball_core import local_stack as names

from playball_stack.components.base import Component, Progress
from playball_stack.components.kafka import KafkaCluster, KafkaNode
from playball_stack.components.kafka_sasl_ssl import SaslSslListeners
from playball_stack.components.postgres import Postgres
from playball_stack.components.registry import Registry, registry_answers
from playball_stack.credentials import (
    StackCredentials,
    ensure_credentials,
    load_credentials,
    postgres_url,
)
from playball_stack.errors import ComponentFailedError, PortInUseError, StackError
from playball_stack.health_kafka import broker_ids
from playball_stack.ports import holder_of, is_listening
from playball_stack.processes import kill_and_wait, pids_with_marker, tail
from playball_stack.settings import StackSettings

DEFAULT_TIMEOUT = 240.0
# written into the home by `up`; `reset` deletes only a directory that carries it
HOME_MARKER = ".playball-stack"


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    name: str
    address: str
    pid: int | None
    healthy: bool
    external: bool


def recorded_brokers(home: Path) -> int:
    try:
        return int((home / "kafka" / "brokers").read_text())
    except (OSError, ValueError):
        return 1


def _quiet(_message: str) -> None:
    pass


class Stack:
    def __init__(
        self, settings: StackSettings, brokers: int | None = None, progress: Progress = _quiet
    ) -> None:
        self.settings = settings
        self.home = settings.home
        self.progress = progress
        self.postgres = (
            Postgres(
                self.home,
                settings.postgres_port,
                max_slot_wal_keep_size=settings.postgres_max_slot_wal_keep_size,
            )
            if settings.database_url is None
            else None
        )
        self.registry = (
            Registry(
                self.home,
                settings.cache_dir,
                settings.registry_port,
                settings.registry_heap,
                settings.effective_database_url,
                jvm_options=tuple(shlex.split(settings.registry_jvm_options)),
            )
            if settings.schema_registry_url is None
            else None
        )
        self.kafka: KafkaCluster | None = None
        self.kafka_nodes: list[KafkaNode] = []
        if settings.kafka_bootstrap is None:
            count = brokers or recorded_brokers(self.home)
            self.kafka = KafkaCluster(
                self.home,
                settings.cache_dir,
                count,
                settings.kafka_port,
                settings.kafka_heap,
                jvm_options=tuple(shlex.split(settings.kafka_jvm_options)),
            )
            self.kafka_nodes = [KafkaNode(self.kafka, n) for n in range(1, count + 1)]
        self._secure(load_credentials(self.home))

    def _secure(self, credentials: StackCredentials | None) -> None:
        """Give the components the principals' passwords (None: a stack not yet made)."""
        if credentials is None:
            return
        if self.postgres is not None:
            self.postgres.credentials = credentials
        if self.kafka is not None:
            self.kafka.security = kafka_listeners(self.home, credentials)
        if self.registry is not None and self.postgres is not None:
            self.registry.database_url = postgres_url(
                credentials, names.POSTGRES_REGISTRY, self.postgres.port
            )

    # -- what runs ------------------------------------------------------------------

    def phases(self) -> list[list[Component]]:
        first: list[Component] = [self.postgres] if self.postgres else []
        second: list[Component] = [self.registry] if self.registry else []
        second.extend(self.kafka_nodes)
        return [phase for phase in (first, second) if phase]

    def components(self) -> list[Component]:
        return [component for phase in self.phases() for component in phase]

    @property
    def kafka_bootstrap(self) -> str:
        return self.kafka.bootstrap if self.kafka else self.settings.effective_kafka_bootstrap

    @property
    def registry_url(self) -> str:
        return self.registry.url if self.registry else self.settings.effective_registry_url

    def admin_client_config(self) -> dict[str, str]:
        """librdkafka settings connecting to the stack's own Kafka as its admin; none for
        an external Kafka (or a stack not made yet)."""
        if self.kafka is None or self.kafka.security is None:
            return {}
        return self.kafka.security.client_config(names.KAFKA_ADMIN)

    # -- lifecycle ------------------------------------------------------------------

    def up(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Start whatever is not running and wait until every component answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        # refuses an unsecured home before anything in it is touched
        credentials = ensure_credentials(
            self.home, self.kafka_bootstrap, self.postgres.port if self.postgres else None
        )
        (self.home / HOME_MARKER).touch()
        # here, not at the top: `cryptography` is for `up` only, not every status call
        from playball_stack.tls import ensure_ca, ensure_server_certificate  # noqa: PLC0415

        ensure_ca(self.home)  # what the stack and `playball up` serve over TLS chains to it
        if self.kafka is not None:
            ensure_server_certificate(self.home, KAFKA_CERTIFICATE)
        self._secure(credentials)
        for component in self.components():
            component.prepare(self.progress)
        deadline = time.monotonic() + timeout
        for phase in self.phases():
            self.start_phase(phase, deadline)

    def start_phase(self, phase: Sequence[Component], deadline: float) -> None:
        """Start one dependency level of components side by side and wait for their health.

        Refuses before launching anything if a port one of them needs is taken; fails as
        soon as one exits, or when the deadline passes, naming it with its log's tail.
        """
        to_launch = [c for c in phase if c.pid() is None]
        for component in to_launch:
            for port in component.ports():
                if not _freed(port, PORT_GRACE):
                    raise PortInUseError(port, component.name, self._holder(port))
        for component in to_launch:
            self.progress(f"starting {component.name}")
            component.launch()
        waiting = list(phase)
        while waiting:
            for component in list(waiting):
                if component.healthy():
                    self.progress(f"{component.name} is up at {component.address()}")
                    waiting.remove(component)
                elif component.exited():
                    # launched now or found running (half-started by an earlier `up`):
                    # either way its process is gone and waiting longer cannot help
                    raise ComponentFailedError(
                        component.name, "exited while starting", tail(component.log_file())
                    )
            if waiting and time.monotonic() > deadline:
                stuck, *others = waiting
                also = f" (nor were: {', '.join(c.name for c in others)})" if others else ""
                raise ComponentFailedError(
                    stuck.name, f"not healthy before the deadline{also}", tail(stuck.log_file())
                )
            if waiting:
                time.sleep(0.25)
        for component in phase:
            component.after_healthy()

    def _holder(self, port: int) -> str | None:
        holder = holder_of(port)
        if holder is not None and any(holder.endswith(f" pid {pid}") for pid in self._leftovers()):
            return f"{holder}, a leftover of this stack: `playball stack down` stops it"
        return holder

    def down(self) -> list[int]:
        """Stop what this stack started, keeping its data; returns pids it had to SIGKILL."""
        for phase in reversed(self.phases()):
            running = [c for c in phase if c.pid() is not None]
            for component in running:
                self.progress(f"stopping {component.name}")
            # Kafka nodes stop together: stopped one by one, the last ones lose their
            # controller quorum and wait out the whole controlled-shutdown timeout.
            with ThreadPoolExecutor(max_workers=max(1, len(running))) as pool:
                list(pool.map(lambda component: component.stop(), running))
        # a server still naming one of our directories is an orphan (a crashed `down`,
        # a pid file lost with a reset): kill it so nothing holds ports or data
        leftovers = self._leftovers()
        for pid in leftovers:
            self.progress(f"killing leftover process {pid}")
            kill_and_wait(pid)
        return leftovers

    def _leftovers(self) -> list[int]:
        found: set[int] = set()
        for component in self.components():
            found.update(
                pids_with_marker(str(component.runtime_dir()), programs={component.program})
            )
        return sorted(found)

    def reset(self) -> None:
        """Stop the stack and delete its home; refuses a directory that is not one."""
        self.down()
        if not self.home.exists():
            return
        if not _looks_like_stack_home(self.home):
            msg = (
                f"{self.home} is not a playball stack home (no {HOME_MARKER} in it); "
                "refusing to delete it. Check PLAYBALL_HOME"
            )
            raise StackError(msg)
        shutil.rmtree(self.home)

    def status(self) -> list[ComponentStatus]:
        rows = [
            ComponentStatus(c.name, c.address(), c.pid(), c.healthy(), external=False)
            for c in self.components()
        ]
        if self.postgres is None:
            url = self.settings.effective_database_url
            rows.insert(0, _external("postgres", redact(url), database_answers(url)))
        if self.registry is None:
            url = self.settings.effective_registry_url
            rows.append(_external("registry", url, registry_answers(url)))
        if self.kafka is None:
            bootstrap = self.settings.effective_kafka_bootstrap
            rows.append(_external("kafka", bootstrap, broker_ids(bootstrap) is not None))
        return rows

    def logs(self) -> dict[str, Path]:
        return {c.name: c.log_file() for c in self.components()}


KAFKA_CERTIFICATE = "kafka"  # every node's: they all listen on loopback


def kafka_listeners(home: Path, credentials: StackCredentials) -> SaslSslListeners:
    """SASL_SSL on every listener, with the stack's CA and the principals' passwords."""
    from playball_stack.tls import ca_files, server_files  # noqa: PLC0415

    server = server_files(home, KAFKA_CERTIFICATE)
    return SaslSslListeners(
        ca_file=ca_files(home).certificate,
        certificate_file=server.certificate,
        key_file=server.key,
        broker_password=credentials.password(names.KAFKA_BROKER),
        controller_password=credentials.password(names.KAFKA_CONTROLLER),
        users=tuple((name, credentials.password(name)) for name in names.KAFKA_CLIENT_PRINCIPALS),
    )


def _looks_like_stack_home(home: Path) -> bool:
    # homes made before the marker existed are recognised by what only a stack writes
    return (
        (home / HOME_MARKER).is_file()
        or (home / "kafka" / "cluster.id").is_file()
        or (home / "postgres" / "data" / "PG_VERSION").is_file()
        or not any(home.iterdir())
    )


def _external(name: str, address: str, healthy: bool) -> ComponentStatus:
    # not started or stopped by us, but probed like our own: status must not say "yes"
    # for a server nobody can reach
    return ComponentStatus(name, address, None, healthy=healthy, external=True)


def database_answers(url: str) -> bool:
    """A PostgreSQL SQLAlchemy URL answers a query; other databases are not probed."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in {"postgresql", "postgres"}:
        return True
    try:
        with psycopg.connect(f"postgresql://{rest}", connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def redact(url: str) -> str:
    """``url`` with everything before its last ``@`` but the scheme replaced by ``***``.

    The last ``@``: a password may carry an unencoded ``@``, and showing too little beats
    showing part of a password.
    """
    head, at, rest = url.rpartition("@")
    if not at:
        return url
    scheme, has_scheme, _credentials = head.partition("://")
    return f"{scheme}://***@{rest}" if has_scheme else f"***@{rest}"


# A port can stay taken for a moment after its holder was told to go (a process still
# exiting, a probe's connection); an unknown holder that outlives this is reported.
PORT_GRACE = 3.0


def _freed(port: int, grace: float) -> bool:
    deadline = time.monotonic() + grace
    while is_listening(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
