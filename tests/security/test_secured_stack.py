"""The session's stack is secured: Kafka refuses whoever cannot prove who they are, each
service principal gets exactly its ACLs, and each PostgreSQL role its own database.

The Kafka checks speak the wire protocol themselves where a client library would hide
the answer (a closed connection, a SASL handshake's error code), and read the broker's
own log for its verdict on a plaintext connection. The inter-broker listener is the
client listener (``inter.broker.listener.name``), so the client port's checks are its.
"""

import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from playball_core import local_stack
from playball_stack.settings import StackSettings
from playball_stack.stack import Stack
from playball_stack.tls import ca_files, ensure_server_certificate
from support.kafka import client_config, create_topic
from support.principals import principal_config, service_acls_granted
from support.stack_env import free_port, share_secrets, wait_for

METADATA, SASL_HANDSHAKE = 3, 17
UNSUPPORTED_SASL_MECHANISM = 33


def _request(api_key: int, version: int, body: bytes) -> bytes:
    client = b"playball-test"
    header = struct.pack(">hhih", api_key, version, 7, len(client)) + client
    return struct.pack(">i", len(header) + len(body)) + header + body


def _string(text: str) -> bytes:
    return struct.pack(">h", len(text)) + text.encode()


METADATA_REQUEST = _request(METADATA, 0, struct.pack(">i", 0))  # v0, no topics


def _answer(sock: socket.socket) -> bytes | None:
    """One response's bytes, None when the broker closed the connection instead."""
    sock.settimeout(10)
    try:
        size = sock.recv(4)
        if len(size) < 4:
            return None
        (length,) = struct.unpack(">i", size)
        data = b""
        while len(data) < length:
            chunk = sock.recv(length - len(data))
            if not chunk:
                return None
            data += chunk
    except (ConnectionResetError, ssl.SSLError):
        return None
    return data


def _ports(stack: StackSettings) -> dict[str, int]:
    node = Stack(stack).kafka_nodes[0]
    client, controller = node.ports()
    return {"client": client, "controller": controller}


def _tls(port: int, ca: Path) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(ca))
    return context.wrap_socket(
        socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="127.0.0.1"
    )


def _admin_ca(stack: StackSettings) -> Path:
    return ca_files(stack.home).certificate


@pytest.mark.parametrize("listener", ["client", "controller"])
def test_no_listener_answers_plaintext_and_the_broker_logs_the_failed_authentication(
    stack: StackSettings, listener: str
) -> None:
    node = Stack(stack).kafka_nodes[0]
    port = _ports(stack)[listener]
    with closing(socket.create_connection(("127.0.0.1", port), timeout=10)) as sock:
        local = sock.getsockname()[1]
        sock.sendall(METADATA_REQUEST)
        assert _answer(sock) is None  # closed, nothing served
    channel = f"127.0.0.1:{port}-127.0.0.1:{local}-"

    def logged() -> bool:
        return any(
            channel in line and "Failed authentication" in line and "SSL handshake failed" in line
            for line in node.log_file().read_text(errors="replace").splitlines()[-5000:]
        )

    wait_for(logged, f"the broker logging the failed authentication of {channel}", 20)


@pytest.mark.parametrize("listener", ["client", "controller"])
def test_over_tls_nothing_is_served_before_sasl_authentication(
    stack: StackSettings, listener: str
) -> None:
    with closing(_tls(_ports(stack)[listener], _admin_ca(stack))) as sock:
        sock.sendall(METADATA_REQUEST)
        assert _answer(sock) is None


@pytest.mark.parametrize(
    ("listener", "asked", "offered"),
    [("client", "PLAIN", "SCRAM-SHA-512"), ("controller", "SCRAM-SHA-512", "PLAIN")],
)
def test_each_listener_offers_only_its_sasl_mechanism(
    stack: StackSettings, listener: str, asked: str, offered: str
) -> None:
    with closing(_tls(_ports(stack)[listener], _admin_ca(stack))) as sock:
        sock.sendall(_request(SASL_HANDSHAKE, 1, _string(asked)))
        answer = _answer(sock)
    assert answer is not None
    _correlation, error, count = struct.unpack(">ihi", answer[:10])
    mechanisms, rest = [], answer[10:]
    for _ in range(count):
        (length,) = struct.unpack(">h", rest[:2])
        mechanisms.append(rest[2 : 2 + length].decode())
        rest = rest[2 + length :]
    assert (error, mechanisms) == (UNSUPPORTED_SASL_MECHANISM, [offered])


def _errors_of(config: dict[str, Any]) -> list[KafkaError]:
    """The errors a client reports trying to read metadata with ``config`` (none when it
    reads it): every error of its first failed round, however it ends."""
    errors: list[KafkaError] = []
    settings: dict[str, Any] = {**config, "error_cb": errors.append, "log_level": 0}
    admin = AdminClient(settings)
    deadline = time.monotonic() + 20
    while not errors and time.monotonic() < deadline:
        try:
            admin.list_topics(timeout=1)
        except KafkaException:
            admin.poll(0.2)
        else:
            return errors
    admin.poll(0.5)  # the rest of that round (librdkafka reports the cause, then "down")
    return errors


def _sasl_ssl(
    stack: StackSettings, port: int, mechanism: str, user: str, password: str
) -> dict[str, Any]:
    return {
        "bootstrap.servers": f"127.0.0.1:{port}",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": password,
        "ssl.ca.location": str(_admin_ca(stack)),
    }


@pytest.mark.parametrize(
    ("listener", "mechanism", "user"),
    [
        ("client", "SCRAM-SHA-512", local_stack.KAFKA_ADMIN),
        ("controller", "PLAIN", local_stack.KAFKA_CONTROLLER),
    ],
)
def test_a_wrong_password_is_refused_as_an_authentication_error(
    stack: StackSettings, listener: str, mechanism: str, user: str
) -> None:
    port = _ports(stack)[listener]
    errors = _errors_of(_sasl_ssl(stack, port, mechanism, user, "not-the-password"))
    refusals = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
    assert refusals, [e.str() for e in errors]
    assert "Authentication failed" in refusals[0].str()


def test_the_right_password_is_accepted(stack: StackSettings, kafka_bootstrap: str) -> None:
    # the control of the refusals above: same client, the admin's own settings
    assert _errors_of(client_config(kafka_bootstrap)) == []


def test_a_client_that_does_not_trust_the_stacks_ca_is_refused(
    stack: StackSettings, kafka_bootstrap: str
) -> None:
    config = client_config(kafka_bootstrap)
    del config["ssl.ca.location"]  # the system's CAs only
    errors = _errors_of(config)
    failures = [e for e in errors if e.code() == KafkaError._SSL]
    assert failures, [e.str() for e in errors]
    assert "certificate verify failed" in failures[0].str()


@contextmanager
def _tls_server(certificate: Path, key: Path) -> Iterator[int]:
    """A loopback TLS server presenting ``certificate``; it closes each connection after
    the handshake (the client's verdict is what is tested)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certificate), str(key))
    port = free_port()
    server = socket.create_server(("127.0.0.1", port))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.settimeout(2)
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        server.close()
        thread.join(timeout=5)


@pytest.mark.parametrize(("names", "refused"), [(("elsewhere.invalid",), True), ((), False)])
def test_a_broker_certificate_naming_another_host_is_refused(
    stack: StackSettings,
    kafka_bootstrap: str,
    tmp_path: Path,
    names: tuple[str, ...],
    refused: bool,
) -> None:
    # a certificate of the stack's own CA, so only the name can be wrong; the control
    # (names the address) is accepted by TLS and fails later, not at the handshake
    share_secrets(stack, tmp_path)
    files = ensure_server_certificate(
        tmp_path,
        "elsewhere" if names else "here",
        ip_addresses=() if names else ("127.0.0.1",),
        dns_names=names or ("localhost",),
    )
    with _tls_server(files.certificate, files.key) as port:
        errors = _errors_of(client_config(f"127.0.0.1:{port}"))
    verify = [e for e in errors if "certificate verify failed" in e.str()]
    assert bool(verify) == refused, [e.str() for e in errors]


def test_the_inter_broker_listener_is_the_authenticated_client_listener(
    stack: StackSettings,
) -> None:
    properties = dict(
        line.split("=", 1)
        for line in (Path(Stack(stack).kafka_nodes[0].dir) / "server.properties")
        .read_text()
        .splitlines()
        if "=" in line
    )
    assert properties["inter.broker.listener.name"] == "SASL_SSL"
    assert properties["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:SASL_SSL"
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    assert "PLAINTEXT" not in properties["listeners"]


# -- the ACLs --------------------------------------------------------------------------


def _produce(config: dict[str, Any], topic: str) -> KafkaError | None:
    """The delivery error of one message, None when it was written."""
    results: list[KafkaError | None] = []
    producer = Producer({**config, "message.timeout.ms": 15000, "log_level": 0})
    producer.produce(topic, key=b"k", value=b"v", on_delivery=lambda e, _m: results.append(e))
    producer.flush(20)
    assert results, f"no delivery report for {topic}"
    return results[0]


def _consume_error(config: dict[str, Any], topic: str, group: str) -> KafkaError | None:
    """The first error reading ``topic`` in ``group``, None when a message arrived."""
    consumer = Consumer(
        {**config, "group.id": group, "auto.offset.reset": "earliest", "log_level": 0}
    )
    consumer.subscribe([topic])
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            return message.error()
    finally:
        consumer.close()
    pytest.fail(f"neither a message nor an error from {topic} within 30 s")


def _create_topic_error(config: dict[str, Any], topic: str) -> KafkaError | None:
    admin = AdminClient({**config, "log_level": 0})
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=20)
    except KafkaException as exc:
        return exc.args[0]  # type: ignore[no-any-return]
    return None


@pytest.fixture
def granted_topic(kafka_bootstrap: str, unique_name: str) -> Iterator[tuple[str, str]]:
    """A topic and a group with the services' ACLs, as `topics ensure` grants them."""
    topic, group = unique_name, f"{unique_name}-group"
    create_topic(kafka_bootstrap, topic)
    create_topic(kafka_bootstrap, f"{topic}.dlq")
    with service_acls_granted(kafka_bootstrap, topic, group):
        yield topic, group


def test_the_relay_may_write_its_topic_and_nothing_else(
    stack: StackSettings, kafka_bootstrap: str, granted_topic: tuple[str, str]
) -> None:
    topic, group = granted_topic
    relay = principal_config(stack, local_stack.KAFKA_RELAY, kafka_bootstrap)
    assert _produce(relay, topic) is None
    denied = _produce(relay, f"{topic}.dlq")
    assert denied is not None and denied.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    read = _consume_error(relay, topic, group)
    assert read is not None
    assert read.code() in {
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.GROUP_AUTHORIZATION_FAILED,
    }, read.str()
    created = _create_topic_error(relay, f"{topic}-made-by-relay")
    assert created is not None
    assert created.code() in {
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    }, created.str()


def test_the_consumer_may_read_its_topic_and_write_its_dlq_and_never_write_the_topic(
    stack: StackSettings, kafka_bootstrap: str, granted_topic: tuple[str, str]
) -> None:
    topic, group = granted_topic
    admin = client_config(kafka_bootstrap)
    assert _produce(admin, topic) is None  # something to read
    consumer = principal_config(stack, local_stack.KAFKA_CONSUMER, kafka_bootstrap)
    assert _consume_error(consumer, topic, group) is None
    assert _produce(consumer, f"{topic}.dlq") is None
    denied = _produce(consumer, topic)
    assert denied is not None and denied.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    other_group = _consume_error(consumer, topic, f"{group}-not-granted")
    assert other_group is not None
    assert other_group.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, other_group.str()


# -- PostgreSQL ------------------------------------------------------------------------


def _role_variables(stack: StackSettings, role: str) -> dict[str, str]:
    variables = local_stack.read_credentials(stack.home, role)
    assert variables is not None, f"no credentials file for {role}"
    return variables


def _role_url(stack: StackSettings, role: str) -> str:
    variables = _role_variables(stack, role)
    url = variables.get("DATABASE_URL") or variables[local_stack.POSTGRES_ADMIN_URL_VARIABLE]
    return url.replace("postgresql+psycopg://", "postgresql://")


def _connect(url: str, database: str) -> psycopg.Connection[tuple[Any, ...]]:
    base, _, _ = url.rpartition("/")
    return psycopg.connect(f"{base}/{database}", connect_timeout=5)


@pytest.mark.parametrize(
    ("role", "foreign"),
    [
        (local_stack.POSTGRES_AUTH, "playball_groups"),
        (local_stack.POSTGRES_GROUPS, "playball_auth"),
        (local_stack.POSTGRES_RELAY, "playball_groups"),
        (local_stack.POSTGRES_REGISTRY, "playball_auth"),
    ],
)
def test_a_service_role_cannot_connect_to_another_services_database(
    stack: StackSettings, database_url: str, role: str, foreign: str
) -> None:
    url = _role_url(stack, role)
    with _connect(url, url.rpartition("/")[2]) as own:  # the control: its own works
        assert own.execute("SELECT current_user").fetchone() == (role,)
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        _connect(url, foreign)


def test_no_service_role_is_a_superuser_and_only_the_relay_replicates(
    stack: StackSettings, database_url: str
) -> None:
    roles = (
        local_stack.POSTGRES_AUTH,
        local_stack.POSTGRES_GROUPS,
        local_stack.POSTGRES_REGISTRY,
        local_stack.POSTGRES_RELAY,
    )
    with _connect(_role_url(stack, local_stack.POSTGRES_ADMIN), "postgres") as conn:
        rows = conn.execute(
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication "
            "FROM pg_roles WHERE rolname = ANY(%s)",
            (list(roles),),
        ).fetchall()
        owners = dict(
            conn.execute(
                "SELECT datname, pg_get_userbyid(datdba) FROM pg_database "
                "WHERE datname LIKE 'playball%%'"
            ).fetchall()
        )
    assert {row[0]: row[1:] for row in rows} == {
        role: (False, False, False, role == local_stack.POSTGRES_RELAY) for role in roles
    }
    assert owners["playball_auth"] == local_stack.POSTGRES_AUTH
    assert owners["playball_groups"] == local_stack.POSTGRES_GROUPS
    assert owners["playball_registry"] == local_stack.POSTGRES_REGISTRY


def test_pg_hba_has_no_trust_line_and_every_connection_needs_scram(
    stack: StackSettings, database_url: str
) -> None:
    with _connect(_role_url(stack, local_stack.POSTGRES_ADMIN), "postgres") as conn:
        methods = {row[0] for row in conn.execute("SELECT auth_method FROM pg_hba_file_rules")}
    assert methods == {"scram-sha-256"}
    text = (stack.home / "postgres" / "data" / "pg_hba.conf").read_text()
    assert not [line for line in text.splitlines() if "trust" in line and not line.startswith("#")]
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host="127.0.0.1",
            port=stack.postgres_port,
            user=local_stack.POSTGRES_AUTH,
            password="not-the-password",
            dbname="playball_auth",
            connect_timeout=5,
        )


def test_the_relay_role_reads_the_outbox_and_nothing_else_of_the_auth_database(
    stack: StackSettings, database_url: str
) -> None:
    # the auth database is migrated by the session (the e2e tests, `playball up`) or here
    from support.system import playball  # noqa: PLC0415

    playball(
        ["auth", "migrate"],
        local_stack.read_credentials(stack.home, local_stack.POSTGRES_AUTH) or {},
    )
    with _connect(_role_url(stack, local_stack.POSTGRES_RELAY), "playball_auth") as conn:
        conn.execute("SELECT count(*) FROM outbox").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT password_hash FROM users")


def test_migrate_as_a_role_without_createdb_names_the_missing_database_and_exits_2(
    stack: StackSettings, database_url: str
) -> None:
    url = (local_stack.read_credentials(stack.home, local_stack.POSTGRES_AUTH) or {})[
        "DATABASE_URL"
    ]
    missing = url.rpartition("/")[0] + "/playball_auth_never_made"
    result = subprocess.run(
        [sys.executable, "-m", "playball_cli", "auth", "migrate"],
        env={**os.environ, "DATABASE_URL": url, "PLAYBALL_AUTH_DATABASE_URL": missing},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "'playball_auth_never_made' does not exist" in result.stderr
    assert "CREATEDB" in result.stderr
