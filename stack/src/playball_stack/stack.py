"""The local stack as a whole: which components run, in what order, and their state.

Start order follows dependencies: PostgreSQL first (the registry stores its schemas
there), then the registry and Kafka together (two slow JVMs starting side by side).
Anything the settings point elsewhere (``DATABASE_URL``, ``PLAYBALL_KAFKA_BOOTSTRAP``,
``PLAYBALL_SCHEMA_REGISTRY_URL``) is external: not started, not stopped, only probed.
"""

import os
import shutil
import signal
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from playball_events.settings import Settings

from playball_stack.components.base import Component, Progress
from playball_stack.components.kafka import KafkaCluster, KafkaNode
from playball_stack.components.postgres import Postgres
from playball_stack.components.registry import Registry
from playball_stack.errors import ComponentFailedError, PortInUseError
from playball_stack.ports import holder_of, is_listening
from playball_stack.processes import is_running, pids_with_marker, tail

DEFAULT_TIMEOUT = 240.0


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
        self, settings: Settings, brokers: int | None = None, progress: Progress = _quiet
    ) -> None:
        self.settings = settings
        self.home = settings.home
        self.progress = progress
        self.postgres = (
            Postgres(self.home, settings.postgres_port) if settings.database_url is None else None
        )
        self.registry = (
            Registry(
                self.home,
                settings.cache_dir,
                settings.registry_port,
                settings.registry_heap,
                settings.effective_database_url,
            )
            if settings.schema_registry_url is None
            else None
        )
        self.kafka: KafkaCluster | None = None
        self.kafka_nodes: list[KafkaNode] = []
        if settings.kafka_bootstrap is None:
            count = brokers or recorded_brokers(self.home)
            self.kafka = KafkaCluster(
                self.home, settings.cache_dir, count, settings.kafka_port, settings.kafka_heap
            )
            self.kafka_nodes = [KafkaNode(self.kafka, n) for n in range(1, count + 1)]

    # -- what runs ------------------------------------------------------------------

    def phases(self) -> list[list[Component]]:
        first: list[Component] = [self.postgres] if self.postgres else []
        second: list[Component] = [self.registry] if self.registry else []
        second.extend(self.kafka_nodes)
        return [phase for phase in (first, second) if phase]

    def components(self) -> list[Component]:
        return [component for phase in self.phases() for component in phase]

    def component(self, name: str) -> Component:
        for component in self.components():
            if component.name == name:
                return component
        names = ", ".join(c.name for c in self.components())
        msg = f"no component {name!r} in this stack (components: {names})"
        raise KeyError(msg)

    @property
    def kafka_bootstrap(self) -> str:
        return self.kafka.bootstrap if self.kafka else self.settings.effective_kafka_bootstrap

    @property
    def registry_url(self) -> str:
        return self.registry.url if self.registry else self.settings.effective_registry_url

    # -- lifecycle ------------------------------------------------------------------

    def up(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Start whatever is not running and wait until every component answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        for component in self.components():
            component.prepare(self.progress)
        deadline = time.monotonic() + timeout
        for phase in self.phases():
            self._start_phase(phase, deadline)

    def _start_phase(self, phase: Sequence[Component], deadline: float) -> None:
        to_launch = [c for c in phase if c.pid() is None]
        for component in to_launch:
            for port in component.ports():
                if is_listening(port):
                    raise PortInUseError(port, component.name, holder_of(port))
        for component in to_launch:
            self.progress(f"starting {component.name}")
            component.launch()
        waiting = list(phase)
        while waiting:
            for component in list(waiting):
                if component.healthy():
                    self.progress(f"{component.name} is up at {component.address()}")
                    waiting.remove(component)
                elif component in to_launch and component.exited():
                    raise ComponentFailedError(
                        component.name, "exited while starting", tail(component.log_file())
                    )
            if waiting and time.monotonic() > deadline:
                stuck = waiting[0]
                raise ComponentFailedError(
                    stuck.name, "not healthy before the deadline", tail(stuck.log_file())
                )
            if waiting:
                time.sleep(0.25)
        for component in phase:
            component.after_healthy()

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
        # anything still carrying our home on its command line is an orphan: kill it
        leftovers = pids_with_marker(str(self.home))
        for pid in leftovers:
            self.progress(f"killing leftover process {pid}")
            _kill(pid)
        return leftovers

    def reset(self) -> None:
        self.down()
        if self.home.exists():
            shutil.rmtree(self.home)

    def status(self) -> list[ComponentStatus]:
        rows = [
            ComponentStatus(c.name, c.address(), c.pid(), c.healthy(), external=False)
            for c in self.components()
        ]
        if self.postgres is None:
            rows.insert(0, _external("postgres", _redact(self.settings.effective_database_url)))
        if self.registry is None:
            rows.append(_external("registry", self.settings.effective_registry_url))
        if self.kafka is None:
            rows.append(_external("kafka", self.settings.effective_kafka_bootstrap))
        return rows

    def logs(self) -> dict[str, Path]:
        return {c.name: c.log_file() for c in self.components()}


def _external(name: str, address: str) -> ComponentStatus:
    # external components are not probed here: their owners monitor them
    return ComponentStatus(name, address, None, healthy=True, external=True)


def _redact(url: str) -> str:
    head, sep, rest = url.rpartition("@")
    if not sep:
        return url
    scheme, _, _credentials = head.partition("://")
    return f"{scheme}://***@{rest}"


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while is_running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
