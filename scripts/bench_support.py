"""What the Kafka benchmarks share: whom each client connects as, and a private PLAINTEXT
broker to measure beside the secured stack's.

Every benchmark measures twice in one run (median of its repetitions on each):

- on the **secured** stack (SASL_SSL, SCRAM-SHA-512, an authorizer), each client as the
  principal of the process it stands for: the relay and its producers as ``auth-relay``,
  the consumer and its raw loop as ``groups-consumer``, with ACLs on the benchmark's own
  scratch topic and groups granted before and revoked after (:func:`scratch_acls`);
  ``playball-admin`` only sets up (topics, backlogs, ACLs) and cleans up;
- on a **private PLAINTEXT** broker (:func:`plaintext_broker`) the benchmark starts on
  free ports under a temporary home, as the stack's broker runs (one node, same heap,
  full JIT), beside the stack's registry and PostgreSQL; warmed up with some traffic
  first (:func:`warm_up`), killed at the end whatever happens.

The ratio of the two is the cost of TLS, SCRAM and the authorizer.
"""

import gc
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from playball_core import local_stack
from playball_core.local_stack import KAFKA_ADMIN
from playball_events.kafka_errors_kafka import secured_config
from playball_events.kafka_security import PLAINTEXT, KafkaSecurity, kafka_security
from playball_events.service_principals import (
    DEFAULT_CONSUMER_GROUP,
    ServicePrincipals,
)
from playball_events.settings import ClientSecuritySettings
from playball_events.topics_acls_kafka import AclAdmin, service_acls
from playball_stack.components.kafka import KafkaCluster, KafkaNode
from playball_stack.processes import kill_and_wait, pids_with_marker, tail
from playball_stack.settings import StackSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.stack_env import free_port_run

SECURITY_FIELDS = (
    "kafka_security_protocol",
    "kafka_sasl_mechanism",
    "kafka_sasl_username",
    "kafka_sasl_password",
    "kafka_ssl_ca_location",
)
# the variables saying where and how a client connects (not PLAYBALL_KAFKA_HEAP & co.)
CONNECTION_VARIABLES = (
    "PLAYBALL_KAFKA_BOOTSTRAP",
    "PLAYBALL_KAFKA_SECURITY_PROTOCOL",
    "PLAYBALL_KAFKA_SASL_",
    "PLAYBALL_KAFKA_SSL_",
)
BROKER_HEAP = "512m"  # the stack's broker's (PLAYBALL_KAFKA_HEAP's default)
START_TIMEOUT = 180.0
WARM_UP_SECONDS = 20.0


@dataclass(frozen=True)
class Cluster:
    """A Kafka cluster a benchmark runs on, and how each principal connects to it.

    ``variables`` holds each principal's ``PLAYBALL_KAFKA_*`` variables (its credentials
    file's, on the secured stack); a cluster without any is PLAINTEXT, where everyone
    connects alike.
    """

    label: str
    bootstrap: str
    variables: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)

    @property
    def secured(self) -> bool:
        return bool(self.variables)

    def environment(self, principal: str) -> dict[str, str]:
        """The ``PLAYBALL_KAFKA_*`` variables of a process connecting as ``principal``."""
        if not self.secured:
            return {
                "PLAYBALL_KAFKA_BOOTSTRAP": self.bootstrap,
                "PLAYBALL_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
            }
        return {**self.variables[principal], "PLAYBALL_KAFKA_BOOTSTRAP": self.bootstrap}

    def child_environment(self, principal: str, **extra: str) -> dict[str, str]:
        """This process's environment for a child connecting as ``principal``: none of
        our own ``PLAYBALL_KAFKA_*`` variables, the principal's instead."""
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(CONNECTION_VARIABLES)}
        return {**inherited, **self.environment(principal), **extra}

    def fields(self, principal: str) -> dict[str, Any]:
        """Settings fields (``kafka_bootstrap`` and the security ones) connecting as
        ``principal``; those it does not use are explicitly None, so the stack's
        credentials files a settings class falls back to cannot fill them in."""
        given = {
            name.removeprefix("PLAYBALL_").lower(): value
            for name, value in self.environment(principal).items()
        }
        return {
            "kafka_bootstrap": self.bootstrap,
            **{name: given.get(name) for name in SECURITY_FIELDS},
        }

    def security(self, principal: str) -> KafkaSecurity:
        if not self.secured:
            return PLAINTEXT
        fields = {k: v for k, v in self.fields(principal).items() if k != "kafka_bootstrap"}
        # model_validate: these fields only, no environment, no credentials file
        return kafka_security(ClientSecuritySettings.model_validate(fields))

    def config(self, principal: str, **config: Any) -> dict[str, Any]:
        """A librdkafka config for this cluster, connecting as ``principal``."""
        return secured_config(
            {"bootstrap.servers": self.bootstrap, **config}, self.security(principal)
        )

    def admin(self) -> AdminClient:
        return AdminClient(self.config(KAFKA_ADMIN))

    @contextmanager
    def environ(self, principal: str) -> Iterator[None]:
        """``os.environ`` connecting as ``principal`` for the duration, for helpers that
        read it (the test support's, the CLI's subprocesses)."""
        saved = {
            n: os.environ.pop(n) for n in list(os.environ) if n.startswith(CONNECTION_VARIABLES)
        }
        os.environ.update(self.environment(principal))
        try:
            yield
        finally:
            for name in [n for n in os.environ if n.startswith(CONNECTION_VARIABLES)]:
                del os.environ[name]
            os.environ.update(saved)


def secured_stack(stack: StackSettings) -> Cluster:
    """The stack's broker, each client principal with its credentials file's variables."""
    variables = {}
    for principal in local_stack.KAFKA_CLIENT_PRINCIPALS:
        found = local_stack.read_credentials(stack.home, principal)
        if not found:
            sys.exit(
                f"bench: no credentials for {principal} under {stack.home}; "
                "start the secured stack first (`playball stack up`)"
            )
        variables[principal] = found
    return Cluster("secured", stack.effective_kafka_bootstrap, variables)


@contextmanager
def _terminated_as_exit() -> Iterator[None]:
    """SIGTERM raises SystemExit for the duration, so ``finally`` blocks still run."""

    def leave(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def plaintext_broker(
    stack: StackSettings, heap: str = BROKER_HEAP, warm_up_seconds: float = WARM_UP_SECONDS
) -> Iterator[Cluster]:
    """A private one-node PLAINTEXT Kafka (no authorizer) on free ports, under a temporary
    home, warmed up (:func:`warm_up`); SIGKILLed and its home removed on the way out
    (scratch data)."""
    home = Path(tempfile.mkdtemp(prefix="playball-bench-kafka-"))
    cluster = KafkaCluster(home, stack.cache_dir, 1, free_port_run(2), heap, security=None)
    node = KafkaNode(cluster, 1)
    started = time.monotonic()
    try:
        with _terminated_as_exit():
            try:
                node.prepare(lambda _message: None)
                node.launch()
                while not node.healthy():
                    if node.exited() or time.monotonic() - started > START_TIMEOUT:
                        msg = f"the private broker did not come up:\n{tail(node.log_file())}"
                        raise RuntimeError(msg)
                    time.sleep(0.25)
                plaintext = Cluster("PLAINTEXT", cluster.bootstrap)
                up = time.monotonic() - started
                warm_up(plaintext, warm_up_seconds)
                print(
                    f"private PLAINTEXT broker on {cluster.bootstrap}, heap {heap} (up in "
                    f"{up:.0f} s, then {warm_up_seconds:.0f} s of warm-up traffic)",
                    file=sys.stderr,
                )
                yield plaintext
            finally:
                gc.collect()  # clients left in reference cycles close while it still answers
                pid = node.pid()
                if pid is not None:
                    kill_and_wait(pid)
                for leftover in pids_with_marker(str(home)):
                    kill_and_wait(leftover)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def warm_up(cluster: Cluster, seconds: float) -> None:
    """Traffic through a fresh broker's produce, fetch and offset-commit paths, so its JIT
    has compiled them before anything is timed: the stack's broker has been running for
    long, and a cold one answers a fetch several times slower at first. A bulk backlog
    read back, then one message a millisecond to a consumer fetching with a short wait
    (the latency benchmarks' pattern), for ``seconds`` in all; the topic is deleted."""
    deadline = time.monotonic() + seconds
    topic = f"bench-warm-up-{uuid.uuid4().hex[:8]}"
    admin = cluster.admin()
    admin.create_topics([NewTopic(topic, 6, 1)])[topic].result(30)
    # log_level 3: a fresh broker's coordinators may still be loading (a warning, retried)
    common = {"socket.nagle.disable": True, "log_level": 3}
    consumer = Consumer(
        cluster.config(
            KAFKA_ADMIN,
            **{
                "group.id": topic,
                "auto.offset.reset": "earliest",
                "auto.commit.interval.ms": 100,
                "fetch.wait.max.ms": 5,
                **common,
            },
        )
    )
    done = threading.Event()

    def read() -> None:
        consumer.subscribe([topic])
        while not done.is_set():
            consumer.consume(1000, 0.05)
        consumer.close()

    reader = threading.Thread(target=read, name="warm-up-reader")
    reader.start()
    producer = Producer(
        cluster.config(
            KAFKA_ADMIN,
            **{"enable.idempotence": True, "acks": "all", "linger.ms": 1, **common},
        )
    )
    try:
        value = b"w" * 200
        for n in range(50_000):
            while True:
                try:
                    producer.produce(topic, key=str(n).encode(), value=value)
                    break
                except BufferError:
                    producer.poll(0.01)
        producer.flush(60)
        n = 0
        while time.monotonic() < deadline:
            producer.produce(topic, key=str(n).encode(), value=value)
            producer.poll(0)
            n += 1
            time.sleep(0.001)
        producer.flush(30)
    finally:
        done.set()
        reader.join()
        admin.delete_topics([topic])[topic].result(30)


def _key(binding: Any) -> tuple[Any, ...]:
    return (binding.restype, binding.name, binding.principal, binding.operation)


@contextmanager
def scratch_acls(cluster: Cluster, topic: str, groups: Sequence[str]) -> Iterator[None]:
    """The relay's and the consumer's ACLs on ``topic`` (and its .dlq) and on each of
    ``groups``, as `playball topics ensure` grants them on the manifest's topic; revoked
    afterwards. The shared readers topic's bindings are granted (idempotent) but never
    revoked: the running services need them. Nothing to do on a PLAINTEXT cluster."""
    if not cluster.secured:
        yield
        return
    readers = ServicePrincipals().readers_topic
    bindings = {
        _key(b): b
        for group in groups
        for b in service_acls(topic, ServicePrincipals(consumer_group=group))
    }
    acls = AclAdmin(cluster.admin())
    acls.grant(list(bindings.values()))
    try:
        yield
    finally:
        acls.revoke([b for b in bindings.values() if b.name != readers])


def restore_manifest_acls(cluster: Cluster, topic: str) -> None:
    """Grant again what `playball topics ensure` grants on ``topic``: the tests' running
    system revokes the services' bindings on the shared topic when it stops."""
    if cluster.secured:
        group = os.environ.get("PLAYBALL_GROUPS_CONSUMER_GROUP") or DEFAULT_CONSUMER_GROUP
        AclAdmin(cluster.admin()).grant(
            service_acls(topic, ServicePrincipals(consumer_group=group))
        )


def _never_joined(exc: Exception) -> bool:
    """A group the broker does not know: its consumer never joined (nothing to delete)."""
    error = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
    return isinstance(error, KafkaError) and error.code() == KafkaError.GROUP_ID_NOT_FOUND


def delete_groups(cluster: Cluster, groups: Sequence[str]) -> None:
    """Best effort: a benchmark's consumer groups, once its consumers are gone."""
    if not groups:
        return
    admin = cluster.admin()  # held: its futures fail once it is destroyed
    for group, future in admin.delete_consumer_groups(list(groups)).items():
        try:
            future.result(30)
        except Exception as exc:  # cleanup must not hide the figures
            if not _never_joined(exc):
                print(f"bench: could not delete consumer group {group}: {exc}", file=sys.stderr)


def verdict(met: bool) -> str:
    return "met" if met else "NOT MET"
