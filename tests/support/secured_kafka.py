"""A private Kafka that serves SASL_SSL only (SCRAM-SHA-512, TLS from a CA of its own home,
made by :mod:`playball_stack.tls`), for tests of the clients' security settings: its CA,
users and passwords are its own, unknown to the shared stack (and the reverse). Its one
client user is a super user: these tests are about authentication and TLS, and the
authorizer (no ACL, no access) would otherwise refuse it everything.

One node on the JIT's first tier, like every scratch cluster: a module starts it once
(module-scoped fixture) and its tests share it.
"""

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playball_core import local_stack
from playball_events.kafka_security import KafkaSecurity, kafka_security
from playball_events.settings import ClientSecuritySettings
from playball_stack.components.kafka import KafkaCluster, KafkaNode
from playball_stack.components.kafka_sasl_ssl import SaslSslListeners
from playball_stack.processes import kill_and_wait, pids_with_marker, tail
from playball_stack.settings import StackSettings
from playball_stack.tls import ca_files, ensure_server_certificate

from support.stack_env import SCRATCH_KAFKA_JVM_OPTIONS, free_port_run

CLIENT_USER = "playball-test-client"
START_TIMEOUT = 120.0


@dataclass(frozen=True)
class SecuredKafka:
    """Where the broker listens, the CA it trusts, and one client user's credentials."""

    bootstrap: str
    ca_file: Path
    user: str
    password: str = field(repr=False)
    node: KafkaNode | None = field(default=None, repr=False)  # a private broker's

    def environment(self, **overrides: str) -> dict[str, str]:
        """``PLAYBALL_KAFKA_*`` variables of a client connecting as :attr:`user`."""
        return {
            "PLAYBALL_KAFKA_BOOTSTRAP": self.bootstrap,
            "PLAYBALL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "PLAYBALL_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "PLAYBALL_KAFKA_SASL_USERNAME": self.user,
            "PLAYBALL_KAFKA_SASL_PASSWORD": self.password,
            "PLAYBALL_KAFKA_SSL_CA_LOCATION": str(self.ca_file),
            **overrides,
        }

    def security(self, **overrides: object) -> KafkaSecurity:
        """The client security :attr:`environment` describes, as the services build it."""
        fields: dict[str, object] = {
            "kafka_security_protocol": "SASL_SSL",
            "kafka_sasl_mechanism": "SCRAM-SHA-512",
            "kafka_sasl_username": self.user,
            "kafka_sasl_password": self.password,
            "kafka_ssl_ca_location": self.ca_file,
            **overrides,
        }
        return kafka_security(ClientSecuritySettings.model_validate(fields))


def session_secured_kafka(stack: StackSettings) -> SecuredKafka:
    """The session's own stack, which serves SASL_SSL only, as its admin: no broker of
    its own needed (a broker start costs the loaded suite ~15 s of CPU)."""
    variables = local_stack.read_credentials(stack.home, local_stack.KAFKA_ADMIN)
    assert variables is not None, "the session's stack has no admin credentials"
    return SecuredKafka(
        stack.effective_kafka_bootstrap,
        Path(variables["PLAYBALL_KAFKA_SSL_CA_LOCATION"]),
        variables["PLAYBALL_KAFKA_SASL_USERNAME"],
        variables["PLAYBALL_KAFKA_SASL_PASSWORD"],
    )


@contextmanager
def secured_kafka(stack: StackSettings, home: Path) -> Iterator[SecuredKafka]:
    """One SASL_SSL-only node under ``home``; SIGKILLed on the way out (scratch data)."""
    server = ensure_server_certificate(home, "kafka")  # makes the home's CA first
    password = secrets.token_urlsafe(24)
    listeners = SaslSslListeners(
        ca_file=ca_files(home).certificate,
        certificate_file=server.certificate,
        key_file=server.key,
        broker_password=secrets.token_urlsafe(24),
        controller_password=secrets.token_urlsafe(24),
        users=((CLIENT_USER, password),),
        super_users=(CLIENT_USER,),
    )
    cluster = KafkaCluster(
        home,
        stack.cache_dir,
        1,
        free_port_run(2),  # client and controller listeners
        "256m",
        jvm_options=(SCRATCH_KAFKA_JVM_OPTIONS,),
        security=listeners,
    )
    node = KafkaNode(cluster, 1)
    try:
        node.prepare(lambda _message: None)
        node.launch()
        _wait_healthy(node)
        yield SecuredKafka(cluster.bootstrap, listeners.ca_file, CLIENT_USER, password, node)
    finally:
        pid = node.pid()
        if pid is not None:
            kill_and_wait(pid)
        assert pids_with_marker(str(home)) == []


def _wait_healthy(node: KafkaNode) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not node.healthy():  # a metadata answer over SASL_SSL, as the broker's principal
        if node.exited() or time.monotonic() > deadline:
            msg = f"the secured broker did not come up:\n{tail(node.log_file())}"
            raise RuntimeError(msg)
        time.sleep(0.25)
