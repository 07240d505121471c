"""Apache Kafka in KRaft mode, run straight from Maven Central's jars.

The distribution's shell scripts only wrap two main classes, so we call them directly:
``kafka.tools.StorageTool format`` once per node, then ``kafka.Kafka <properties>``.
Every node is a combined broker+controller with a static voter list, which is the
simplest layout that works identically for one node and for the 3-node fault cluster.
Listeners are PLAINTEXT unless the cluster is given a :class:`.SaslSslListeners` layout.
"""

import base64
import uuid
from pathlib import Path
from subprocess import CompletedProcess

from playball_stack import cds
from playball_stack.artifacts import ensure_kafka_jars
from playball_stack.components.base import Component, Progress
from playball_stack.components.kafka_sasl_ssl import SaslSslListeners
from playball_stack.errors import StackError
from playball_stack.health_kafka import broker_ids
from playball_stack.java import Java, find_java
from playball_stack.maven import Maven
from playball_stack.ports import is_listening
from playball_stack.processes import ManagedProcess, run_tool

KAFKA_JAVA_MIN = 17

_LOG4J2 = """status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


def new_cluster_id() -> str:
    """A Kafka cluster id: base64url of a random uuid, never starting with '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):  # the storage tool would read it as an option
            return text


def client_port(base_port: int, node_id: int) -> int:
    return base_port + 2 * (node_id - 1)


def controller_port(base_port: int, node_id: int) -> int:
    return client_port(base_port, node_id) + 1


def bootstrap_servers(base_port: int, brokers: int) -> str:
    return ",".join(f"127.0.0.1:{client_port(base_port, n)}" for n in range(1, brokers + 1))


def _format(argv: list[str], security: SaslSslListeners | None) -> "CompletedProcess[str]":
    """Run the storage tool; a failure's message never shows the ``--add-scram`` passwords."""
    try:
        return run_tool(argv, timeout=120)  # a JVM formatting a few empty files
    except StackError as exc:
        if security is None:
            raise
        raise StackError(security.redacted(str(exc))) from None


class KafkaCluster:
    """State shared by the nodes: cluster id, node count, verified jars, Java."""

    def __init__(
        self,
        home: Path,
        cache_dir: Path,
        brokers: int,
        base_port: int,
        heap: str,
        *,
        jvm_options: tuple[str, ...] = (),
        security: SaslSslListeners | None = None,
    ):
        self.root = home / "kafka"
        self.cache_dir = cache_dir
        self.brokers = brokers
        self.base_port = base_port
        self.heap = heap
        self.jvm_options = jvm_options
        self.security = security
        self._jars: Path | None = None
        self._java: Java | None = None

    def prepare(self, progress: Progress) -> tuple[Path, Java]:
        if self._jars is None or self._java is None:
            self._java = find_java(KAFKA_JAVA_MIN, "Kafka")
            self._jars = ensure_kafka_jars(self.cache_dir, Maven(self.cache_dir), progress)
            self.root.mkdir(parents=True, exist_ok=True)
            recorded = self.root / "brokers"
            created = recorded.read_text().strip() if recorded.is_file() else str(self.brokers)
            if created != str(self.brokers):  # text, so a corrupt file is reported, not raised
                msg = (
                    f"the stack's Kafka was created with {created!r} broker(s) ({recorded}), "
                    f"not {self.brokers}; run `playball stack reset` to recreate it"
                )
                raise StackError(msg)
            recorded.write_text(f"{self.brokers}\n")
        return self._jars, self._java

    @property
    def cluster_id(self) -> str:
        path = self.root / "cluster.id"
        if not path.is_file():
            path.write_text(new_cluster_id() + "\n")
        return path.read_text().strip()

    @property
    def bootstrap(self) -> str:
        return bootstrap_servers(self.base_port, self.brokers)

    def voters(self) -> str:
        return ",".join(
            f"{n}@127.0.0.1:{controller_port(self.base_port, n)}"
            for n in range(1, self.brokers + 1)
        )


class KafkaNode(Component):
    program = "java"

    def __init__(self, cluster: KafkaCluster, node_id: int) -> None:
        self.cluster = cluster
        self.node_id = node_id
        self.name = "kafka" if cluster.brokers == 1 else f"kafka-{node_id}"
        self.dir = cluster.root / f"node-{node_id}"
        self.process = ManagedProcess(
            name=self.name,
            pid_file=self.dir / "kafka.pid",
            log_file=self.dir / "server.log",
            marker=str(self.dir / "server.properties"),
        )

    @property
    def port(self) -> int:
        return client_port(self.cluster.base_port, self.node_id)

    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def ports(self) -> tuple[int, ...]:
        return (self.port, controller_port(self.cluster.base_port, self.node_id))

    def log_file(self) -> Path:
        return self.process.log_file

    @property
    def keystore(self) -> Path:
        return self.dir / "keystore.pem"

    def runtime_dir(self) -> Path:
        return self.dir

    def server_properties(self) -> str:
        brokers = self.cluster.brokers
        controller = controller_port(self.cluster.base_port, self.node_id)
        lines = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.cluster.voters(),
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{controller}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.dir / "data"),
            # topics are created by `playball topics ensure` with explicit settings; a
            # typo in a topic name must fail, not create a topic with broker defaults
            "auto.create.topics.enable": "false",
            "num.partitions": "3",
            "default.replication.factor": str(brokers),
            "offsets.topic.replication.factor": str(min(3, brokers)),
            "transaction.state.log.replication.factor": str(min(3, brokers)),
            "transaction.state.log.min.isr": str(min(2, brokers)),
            "share.coordinator.state.topic.replication.factor": str(min(3, brokers)),
            "share.coordinator.state.topic.min.isr": str(min(2, brokers)),
            # tests start consumers on a fresh group constantly; waiting 3 s for more
            # members to join only slows them down
            "group.initial.rebalance.delay.ms": "0",
            # the log cleaner's key map is one heap buffer, 128 MB by default: a quarter of
            # the small heap, for compacting only __consumer_offsets here. 16 MB holds
            # some 600,000 keys.
            "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
        }
        if self.cluster.security is not None:
            lines.update(
                self.cluster.security.server_properties(self.port, controller, self.keystore)
            )
        return "".join(f"{key}={value}\n" for key, value in lines.items())

    def prepare(self, progress: Progress) -> None:
        jars, java = self.cluster.prepare(progress)
        self.dir.mkdir(parents=True, exist_ok=True)
        properties = self.dir / "server.properties"
        security = self.cluster.security
        if security is not None:  # the properties hold the principals' passwords
            self.dir.chmod(0o700)
            properties.touch(mode=0o600)
            properties.chmod(0o600)
            security.write_keystore(self.keystore)
        properties.write_text(self.server_properties())
        (self.dir / "log4j2.properties").write_text(_LOG4J2)
        if (self.dir / "data" / "meta.properties").is_file():
            return
        progress(f"formatting {self.name} storage")
        archive = cds.archive_for(jars.parent, java.executable, "kafka.tools.StorageTool")
        result = _format(
            [
                str(java.executable),
                *self.cluster.jvm_options,
                *cds.cds_options(archive),
                "-cp",
                f"{jars}/*",
                f"-Dlog4j2.configurationFile={self.dir / 'log4j2.properties'}",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                self.cluster.cluster_id,
                "-c",
                str(properties),
                *(security.format_arguments() if security else ()),
            ],
            security,
        )
        cds.adopt_after_exit(archive)
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-2000:]
            if security is not None:
                output = security.redacted(output)
            msg = f"{self.name}: storage format failed:\n{output}"
            raise StackError(msg)

    def launch(self) -> None:
        jars, java = self.cluster.prepare(lambda _message: None)
        archive = cds.archive_for(jars.parent, java.executable, "kafka.Kafka")
        options = cds.cds_options(archive)
        pid = self.process.start(
            [
                str(java.executable),
                f"-Xmx{self.cluster.heap}",
                "-Xms128m",
                "-XX:+UseG1GC",
                "-XX:MaxGCPauseMillis=20",
                *self.cluster.jvm_options,  # last: they may override the ones above
                *options,
                f"-XX:ErrorFile={self.dir}/hs_err_pid%p.log",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.dir / 'log4j2.properties'}",
                "-cp",
                f"{jars}/*",
                "kafka.Kafka",
                str(self.dir / "server.properties"),
            ],
        )
        cds.record_writer(archive, pid)

    def healthy(self) -> bool:
        if not is_listening(self.port):
            return False
        probe = self.cluster.security.probe_config() if self.cluster.security else None
        ids = broker_ids(self.address(), config=probe)
        return ids is not None and self.node_id in ids

    def pid(self) -> int | None:
        return self.process.pid()

    def stop(self) -> None:
        self.process.stop(timeout=60.0)

    def kill(self) -> None:
        self.process.kill()
