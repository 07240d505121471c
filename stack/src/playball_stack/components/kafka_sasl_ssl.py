"""SASL_SSL on every listener of a Kafka node: the optional secured layout of a cluster.

Clients and brokers authenticate with SCRAM-SHA-512 on the client (and inter-broker)
listener. The controller listener uses PLAIN, because SCRAM cannot authenticate between
KRaft controllers (KAFKA-15513). TLS comes from PEM files (KIP-651), so neither keytool
nor a truststore password is needed: the certificate and key are the ones
:mod:`playball_stack.tls` issues, joined into the one file Kafka's PEM key store reads.
SCRAM users are created when the storage is formatted (KIP-900): a KRaft cluster has no
other way to know them before it first starts.

The passwords end up in ``server.properties`` (JAAS) and, for a few seconds, on the
storage tool's command line (``--add-scram`` takes no file): the node directory is
private (0700, properties 0600), and every message built from the tool's output or
arguments goes through :meth:`SaslSslListeners.redacted`.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

from playball_core.local_stack import KAFKA_ADMIN, KAFKA_BROKER, KAFKA_CONTROLLER

BROKER_PRINCIPAL = KAFKA_BROKER
CONTROLLER_PRINCIPAL = KAFKA_CONTROLLER
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
CLIENT_LISTENER = "SASL_SSL"
CONTROLLER_LISTENER = "CONTROLLER"
SCRAM_MECHANISM = "SCRAM-SHA-512"
_REDACTED = "***"


# Characters JAAS quoting or the storage tool's `[name=...,password=...]` syntax would
# take for its own; generated passwords (URL-safe base64) never hold them.
_UNSAFE = frozenset('"\\,[]= \t\n')


def _jaas(module: str, options: dict[str, str]) -> str:
    pairs = " ".join(f'{key}="{value}"' for key, value in options.items())
    return f"org.apache.kafka.common.security.{module} required {pairs};"


@dataclass(frozen=True, slots=True)
class SaslSslListeners:
    """What a node needs to serve SASL_SSL only: its TLS files and its principals' passwords.

    ``users`` are further SCRAM-SHA-512 principals (name, password) created at format time,
    for the clients. Passwords are left out of the repr.
    """

    ca_file: Path  # PEM: the CA that signed the node's certificate (the truststore)
    certificate_file: Path  # PEM: the node's certificate (SANs IP:127.0.0.1, DNS:localhost)
    key_file: Path  # PEM: its unencrypted PKCS#8 key
    broker_password: str = field(repr=False)
    controller_password: str = field(repr=False)
    users: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # besides the broker and controller: who may do anything (no ACL needed)
    super_users: tuple[str, ...] = (KAFKA_ADMIN,)

    def __post_init__(self) -> None:
        names = [BROKER_PRINCIPAL, CONTROLLER_PRINCIPAL, *(name for name, _ in self.users)]
        for name, secret in zip(names, self.secrets(), strict=True):
            if not secret or _UNSAFE & {*name, *secret}:
                msg = f"the name or password of Kafka principal {name!r} is empty or unsafe"
                raise ValueError(msg)

    def secrets(self) -> list[str]:
        return [self.broker_password, self.controller_password, *(p for _, p in self.users)]

    def redacted(self, text: str) -> str:
        """``text`` with every password of this layout replaced."""
        for secret in self.secrets():
            if secret:
                text = text.replace(secret, _REDACTED)
        return text

    def write_keystore(self, path: Path) -> None:
        """The key and certificate in one file (0600), as ``ssl.keystore.type=PEM`` wants."""
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            os.fchmod(descriptor, 0o600)  # an existing file keeps its mode otherwise
            stream.write(self.key_file.read_bytes() + self.certificate_file.read_bytes())

    def server_properties(
        self, client_port: int, controller_port: int, keystore: Path
    ) -> dict[str, str]:
        """The node's listener and security properties (they replace the PLAINTEXT ones);
        ``keystore`` is where :meth:`write_keystore` put the node's key and certificate."""
        client = CLIENT_LISTENER.lower()
        controller = CONTROLLER_LISTENER.lower()
        return {
            "listeners": (
                f"{CLIENT_LISTENER}://127.0.0.1:{client_port},"
                f"{CONTROLLER_LISTENER}://127.0.0.1:{controller_port}"
            ),
            "advertised.listeners": f"{CLIENT_LISTENER}://127.0.0.1:{client_port}",
            "inter.broker.listener.name": CLIENT_LISTENER,
            "listener.security.protocol.map": (
                f"{CLIENT_LISTENER}:SASL_SSL,{CONTROLLER_LISTENER}:SASL_SSL"
            ),
            "sasl.mechanism.inter.broker.protocol": SCRAM_MECHANISM,
            "sasl.mechanism.controller.protocol": "PLAIN",
            f"listener.name.{client}.sasl.enabled.mechanisms": SCRAM_MECHANISM,
            f"listener.name.{client}.{SCRAM_MECHANISM.lower()}.sasl.jaas.config": _jaas(
                "scram.ScramLoginModule",
                {"username": BROKER_PRINCIPAL, "password": self.broker_password},
            ),
            f"listener.name.{controller}.sasl.enabled.mechanisms": "PLAIN",
            # the controller's own login, and the one user its PLAIN listener accepts
            f"listener.name.{controller}.plain.sasl.jaas.config": _jaas(
                "plain.PlainLoginModule",
                {
                    "username": CONTROLLER_PRINCIPAL,
                    "password": self.controller_password,
                    f"user_{CONTROLLER_PRINCIPAL}": self.controller_password,
                },
            ),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
            # Kafka's default, stated: a node checks the certificate of every node it calls
            "ssl.endpoint.identification.algorithm": "https",
            # nothing without an ACL: every principal but the super users gets only what
            # `playball topics ensure` (or a test, for its own topics) grants it
            "authorizer.class.name": AUTHORIZER,
            "allow.everyone.if.no.acl.found": "false",
            "super.users": ";".join(
                f"User:{name}"
                for name in (*self.super_users, BROKER_PRINCIPAL, CONTROLLER_PRINCIPAL)
            ),
        }

    def format_arguments(self) -> list[str]:
        """``--add-scram`` options creating the broker's and the clients' SCRAM users."""
        arguments: list[str] = []
        for name, password in ((BROKER_PRINCIPAL, self.broker_password), *self.users):
            arguments += ["--add-scram", f"{SCRAM_MECHANISM}=[name={name},password={password}]"]
        return arguments

    def client_config(self, principal: str) -> dict[str, str]:
        """librdkafka settings connecting as ``principal`` (the broker's, or a user's)."""
        passwords = {BROKER_PRINCIPAL: self.broker_password, **dict(self.users)}
        return {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": SCRAM_MECHANISM,
            "sasl.username": principal,
            "sasl.password": passwords[principal],
            "ssl.ca.location": str(self.ca_file),
            "ssl.endpoint.identification.algorithm": "https",
        }

    def probe_config(self) -> dict[str, str]:
        """librdkafka settings of a health probe, authenticating as the broker's principal."""
        return self.client_config(BROKER_PRINCIPAL)
