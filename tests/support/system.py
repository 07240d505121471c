"""The whole system as separate processes: auth API, relay, groups API, consumer.

Started through the orchestration's supervisor on free loopback ports, on fresh
databases of the given PostgreSQL server, with a consumer group of its own, so it shares
the stack but nothing else with other tests (or a running `playball up`). The group
starts at the topic's end: its fresh view gets this system's events only, not the
shared topic's history. Every process is stopped when the context ends.
"""

import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playball_core import local_stack
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_orchestration.auth_tls import ensure_auth_tls
from playball_orchestration.services import (
    AuthTls,
    Ports,
    ServiceSpec,
    service_environment,
    service_specs,
)
from playball_orchestration.supervisor import Supervisor
from playball_orchestration.system import KAFKA_CLIENT_VARIABLES
from playball_stack.settings import StackSettings

from support.cli import playball_here
from support.databases import fresh_postgres
from support.kafka import made_readers_topic, remove_scratch_topics, start_group_at_end
from support.principals import principal_environment, service_acls_granted
from support.stack_env import free_port_run

PASSWORD_COST_ENV = {
    "PLAYBALL_AUTH_PASSWORD_MEMORY_KIB": "19456",
    "PLAYBALL_AUTH_PASSWORD_TIME_COST": "2",
    "PLAYBALL_AUTH_PASSWORD_PARALLELISM": "1",
}


def free_service_ports() -> Ports:
    """Four distinct free ports for the services. Not four :func:`free_port` calls: each
    probes alone, so two of them can draw the same port, and the second service then
    finds the first answering on it."""
    base = free_port_run(4)
    return Ports(auth=base, groups=base + 1, relay_metrics=base + 2, consumer_metrics=base + 3)


def playball(words: list[str], env: Mapping[str, str]) -> None:
    """A setup step (``topics ensure``, ``migrate``), in this process: the commands are
    the same, and a process of its own would import them all again (~1.2 s of CPU each,
    three per system); the CLI as a process has its own tests."""
    result = playball_here(words, env)
    assert result.returncode == 0, f"playball {' '.join(words)}: {result.stdout}{result.stderr}"


@dataclass
class RunningSystem:
    supervisor: Supervisor
    specs: dict[str, ServiceSpec]
    env: dict[str, str]
    auth_database_url: str
    groups_database_url: str
    tls: AuthTls | None = None  # auth over https, its certificate from workdir's CA
    principals: dict[str, dict[str, str]] = field(default_factory=dict)  # Kafka credentials

    @property
    def auth_url(self) -> str:
        return self.specs["auth-api"].address

    @property
    def groups_url(self) -> str:
        return self.specs["groups-api"].address

    def kill(self, name: str) -> None:
        """SIGKILL a service: no shutdown hook, no flush, as a crash."""
        self.supervisor.process(self.specs[name]).kill()

    def start(self, name: str) -> None:
        self.supervisor.start(self.specs[name], self.environment_of(name))

    def environment_of(self, name: str) -> dict[str, str]:
        """A service's whole environment: the system's, as its own Kafka principal."""
        return {**self.env, **self.principals.get(name, {})}


ALL_SERVICES = ("auth-api", "auth-relay", "groups-api", "groups-consumer")


@contextmanager
def running_system(
    stack: StackSettings,
    workdir: Path,
    services: tuple[str, ...] = ALL_SERVICES,
    extra_env: Mapping[str, str] | None = None,
    *,
    auth_tls: bool = False,
) -> Iterator[RunningSystem]:
    """``services`` on ``stack`` (all four by default), prepared and started; their homes,
    logs and signing key under ``workdir``. The others can be started later, or run in
    process with ``RunningSystem.env`` (a benchmark's consumer). With ``auth_tls``, auth
    serves https as under `playball up`, from a CA of workdir's own."""
    workdir.mkdir(parents=True, exist_ok=True)
    tls = ensure_auth_tls(workdir) if auth_tls else None
    server = stack.effective_database_url
    ports = free_service_ports()
    with (
        fresh_postgres(server, "playball_auth_e2e") as auth_db,
        fresh_postgres(server, "playball_groups_e2e") as groups_db,
    ):
        env = {
            # the supervisor hands a service this and nothing else: not the test
            # process's admin credentials (the relay and consumer get their own)
            **{k: v for k, v in os.environ.items() if k not in KAFKA_CLIENT_VARIABLES},
            **service_environment(
                stack.effective_kafka_bootstrap, stack.effective_registry_url, server, ports, tls
            ),
            "PLAYBALL_AUTH_DATABASE_URL": auth_db,
            "PLAYBALL_GROUPS_DATABASE_URL": groups_db,
            "PLAYBALL_GROUPS_CONSUMER_GROUP": f"playball-groups-e2e-{uuid.uuid4().hex[:8]}",
            "PLAYBALL_AUTH_SIGNING_KEYS": str(signing_keys(workdir)),
            # OWASP's minimum argon2id instead of RFC 9106's profile: the e2e tests hash
            # ~300 passwords on 2 shared cores (167 ms of CPU each at the default);
            # the hashing itself is tested at the default in tests/auth
            **PASSWORD_COST_ENV,
            **(extra_env or {}),
        }
        group = env["PLAYBALL_GROUPS_CONSUMER_GROUP"]
        # the system's own readers topic, named after its group (removed with it below)
        env.setdefault(
            "PLAYBALL_READERS_TOPIC", made_readers_topic(stack.effective_kafka_bootstrap, group)
        )
        for words in (
            ["topics", "ensure", "--apply-configs"],
            ["auth", "migrate"],
            ["groups", "migrate"],
        ):
            playball(words, env)
        start_group_at_end(
            stack.effective_kafka_bootstrap,
            group,
            env.get("PLAYBALL_GROUPS_TOPIC", PLAYBALL_AUTH_USER_EVENTS_V1.name),
        )
        home = workdir
        supervisor = Supervisor(home, lambda _message: None)
        specs = {spec.name: spec for spec in service_specs(ports, tls)}
        running = RunningSystem(
            supervisor,
            specs,
            env,
            auth_db,
            groups_db,
            tls,
            principals={
                "auth-relay": principal_environment(stack, local_stack.KAFKA_RELAY),
                "groups-consumer": principal_environment(stack, local_stack.KAFKA_CONSUMER),
            },
        )
        topic = env.get("PLAYBALL_GROUPS_TOPIC", PLAYBALL_AUTH_USER_EVENTS_V1.name)
        try:
            with service_acls_granted(stack.effective_kafka_bootstrap, topic, group):
                try:
                    for name in services:
                        running.start(name)
                    yield running
                finally:  # before the ACLs go: a consumer's last commit needs them
                    for spec in reversed(list(specs.values())):
                        supervisor.stop(spec)
        finally:
            # the generated, unique group is this system's to delete; a caller's is not
            if "PLAYBALL_GROUPS_CONSUMER_GROUP" not in (extra_env or {}):
                remove_scratch_topics(stack.effective_kafka_bootstrap, group)


def signing_keys(directory: Path) -> Path:
    """A throwaway key directory (0700, one 0600 key), so the tests never touch the
    developer's own keys."""
    from playball_auth.adapters.signing_keys import ensure_development_directory  # noqa: PLC0415

    path = directory / "signing-keys"
    ensure_development_directory(path, bits=2048)
    return path
