"""Fast unit tests of the stack package: no Kafka, registry or PostgreSQL, only loopback
sockets and trivial processes these tests open and close themselves."""

import os
import re
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playball_stack.artifacts import load_pins, sha256_of, verify_or_delete
from playball_stack.cli import app
from playball_stack.components.base import Component, Progress
from playball_stack.components.kafka import (
    KafkaCluster,
    KafkaNode,
    bootstrap_servers,
    client_port,
    controller_port,
    new_cluster_id,
)
from playball_stack.components.postgres import Postgres
from playball_stack.components.registry import jdbc_from_sqlalchemy_url, registry_answers
from playball_stack.errors import ChecksumError, ComponentFailedError, PortInUseError
from playball_stack.ports import holder_of, is_listening
from playball_stack.processes import (
    ManagedProcess,
    carries_marker,
    is_running,
    pids_with_marker,
    tail,
)
from playball_stack.settings import StackSettings
from playball_stack.stack import (
    HOME_MARKER,
    Stack,
    _database_answers,
    _redact,
    recorded_brokers,
)
from pydantic import ValidationError
from typer.testing import CliRunner

HEX64 = re.compile(r"[0-9a-f]{64}")


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not true within {timeout} s")
        time.sleep(0.02)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No PLAYBALL_* / DATABASE_URL from the session's environment; a private home."""
    for name in list(os.environ):
        if name.startswith("PLAYBALL_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("PLAYBALL_HOME", str(home))
    monkeypatch.setenv("PLAYBALL_CACHE_DIR", str(tmp_path / "cache"))
    return home


def free_port() -> int:
    """A loopback port nobody listens on: bound (so nobody else takes it) but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def bound_not_listening() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


# -- Kafka layout -----------------------------------------------------------------------


def test_one_broker_ports_and_bootstrap() -> None:
    assert client_port(19092, 1) == 19092
    assert controller_port(19092, 1) == 19093
    assert bootstrap_servers(19092, 1) == "127.0.0.1:19092"


def test_three_brokers_get_disjoint_client_and_controller_ports() -> None:
    ports = [(client_port(29092, n), controller_port(29092, n)) for n in (1, 2, 3)]
    assert ports == [(29092, 29093), (29094, 29095), (29096, 29097)]
    assert bootstrap_servers(29092, 3) == "127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096"


def test_voters_name_every_node_on_its_controller_port(tmp_path: Path) -> None:
    assert KafkaCluster(tmp_path, tmp_path, 1, 19092, "256m").voters() == "1@127.0.0.1:19093"
    three = KafkaCluster(tmp_path, tmp_path, 3, 29092, "256m")
    assert three.voters() == "1@127.0.0.1:29093,2@127.0.0.1:29095,3@127.0.0.1:29097"
    assert three.bootstrap == bootstrap_servers(29092, 3)


def _properties(node: KafkaNode) -> dict[str, str]:
    lines = node._properties().splitlines()
    return dict(line.split("=", 1) for line in lines)


@pytest.mark.parametrize(("brokers", "replication", "min_isr"), [(1, "1", "1"), (3, "3", "2")])
def test_node_properties_listen_on_loopback_with_replication_for_the_node_count(
    tmp_path: Path, brokers: int, replication: str, min_isr: str
) -> None:
    cluster = KafkaCluster(tmp_path, tmp_path, brokers, 29092, "256m")
    for node_id in range(1, brokers + 1):
        node = KafkaNode(cluster, node_id)
        props = _properties(node)
        client, controller = node.ports()
        assert props["node.id"] == str(node_id)
        assert props["listeners"] == (
            f"PLAINTEXT://127.0.0.1:{client},CONTROLLER://127.0.0.1:{controller}"
        )
        assert props["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{client}"
        assert props["controller.quorum.voters"] == cluster.voters()
        assert props["default.replication.factor"] == replication
        assert props["offsets.topic.replication.factor"] == replication
        assert props["transaction.state.log.min.isr"] == min_isr
        assert props["log.dirs"] == str(node.dir / "data")
        # nothing may bind beyond loopback
        for key in ("listeners", "advertised.listeners"):
            hosts = re.findall(r"//([^:]+):", props[key])
            assert hosts, key
            assert set(hosts) == {"127.0.0.1"}, key


def test_node_names_single_vs_cluster(tmp_path: Path) -> None:
    assert KafkaNode(KafkaCluster(tmp_path, tmp_path, 1, 19092, "1g"), 1).name == "kafka"
    cluster = KafkaCluster(tmp_path, tmp_path, 3, 19092, "1g")
    assert [KafkaNode(cluster, n).name for n in (1, 2, 3)] == ["kafka-1", "kafka-2", "kafka-3"]


def test_cluster_id_skips_ids_that_would_read_as_an_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 0xF8: the first six bits are 62, which base64url writes as '-'
    dashed = uuid.UUID(bytes=bytes([0xF8]) + bytes(15))
    plain = uuid.UUID(bytes=bytes([0x10]) + bytes(15))
    issued = iter([dashed, plain])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(issued))

    assert new_cluster_id().startswith("E")  # the second candidate, 0x10 -> 'E'


def test_cluster_ids_are_22_chars_of_base64url_never_leading_dash() -> None:
    ids = {new_cluster_id() for _ in range(500)}
    assert len(ids) == 500
    for cluster_id in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id), cluster_id
        assert not cluster_id.startswith("-")


def test_cluster_id_is_created_once_and_kept(tmp_path: Path) -> None:
    (tmp_path / "kafka").mkdir()
    first = KafkaCluster(tmp_path, tmp_path, 1, 19092, "256m").cluster_id
    again = KafkaCluster(tmp_path, tmp_path, 1, 19092, "256m").cluster_id
    assert first == again
    assert (tmp_path / "kafka" / "cluster.id").read_text().strip() == first


def test_recorded_brokers(tmp_path: Path) -> None:
    assert recorded_brokers(tmp_path) == 1  # never created
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "brokers").write_text("3\n")
    assert recorded_brokers(tmp_path) == 3
    (tmp_path / "kafka" / "brokers").write_text("garbage")
    assert recorded_brokers(tmp_path) == 1


# -- URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql+psycopg://playball:playball@127.0.0.1:15432/playball",
            ("jdbc:postgresql://127.0.0.1:15432/playball_registry", "playball", "playball"),
        ),
        (
            "postgresql://db.example:5433/app",
            ("jdbc:postgresql://db.example:5433/playball_registry", "", ""),
        ),
        (
            "postgresql+psycopg://app@db.example/app",
            ("jdbc:postgresql://db.example:5432/playball_registry", "app", ""),
        ),
        (  # SQLAlchemy percent-encodes '@', ':' and '/' in credentials
            "postgresql+psycopg://us%40er:p%40ss%3Aw%2Fd@db:5432/app",
            ("jdbc:postgresql://db:5432/playball_registry", "us@er", "p@ss:w/d"),
        ),
        (
            "postgresql://u:p@[::1]:5432/app",
            ("jdbc:postgresql://[::1]:5432/playball_registry", "u", "p"),
        ),
    ],
)
def test_jdbc_from_sqlalchemy_url(url: str, expected: tuple[str, str, str]) -> None:
    assert jdbc_from_sqlalchemy_url(url, "playball_registry") == expected


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://u:secret@h:5432/db", "postgresql+psycopg://***@h:5432/db"),
        ("postgresql://u@h/db", "postgresql://***@h/db"),
        ("postgresql://u:se@cret@h/db", "postgresql://***@h/db"),
        ("u:secret@h/db", "***@h/db"),
        ("postgresql://h:5432/db", "postgresql://h:5432/db"),
    ],
)
def test_redact_hides_credentials(url: str, shown: str) -> None:
    assert _redact(url) == shown
    assert "secret" not in _redact(url)


# -- pinned downloads -----------------------------------------------------------------------


def test_verify_or_delete_keeps_a_matching_file(tmp_path: Path) -> None:
    good = tmp_path / "good.jar"
    good.write_bytes(b"content")
    verify_or_delete(good, sha256_of(good))
    assert good.read_bytes() == b"content"


def test_verify_or_delete_deletes_a_mismatch_and_names_both_hashes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jar"
    bad.write_bytes(b"tampered")
    actual = sha256_of(bad)
    pinned = "0" * 64

    with pytest.raises(ChecksumError) as refused:
        verify_or_delete(bad, pinned)

    assert not bad.exists()
    message = str(refused.value)
    assert actual in message
    assert pinned in message
    assert "bad.jar" in message


def test_every_pin_is_a_sha256_and_versions_agree() -> None:
    pins = load_pins()
    assert pins.kafka.jars, "no Kafka jar pinned"
    for name, digest in pins.kafka.jars.items():
        assert name.endswith(".jar"), name
        assert HEX64.fullmatch(digest), f"{name}: {digest!r}"
    assert HEX64.fullmatch(pins.registry.sha256)
    assert f"kafka_2.13-{pins.kafka.version}.jar" in pins.kafka.jars
    assert f":{pins.kafka.version}" in pins.kafka.coordinates[0]
    assert f":{pins.registry.version}:" in pins.registry.coordinates
    assert pins.registry.version in pins.registry.file
    assert pins.registry.java_min >= 17


# -- settings and which components are ours -----------------------------------------------------


@pytest.mark.parametrize("variable", ["PLAYBALL_KAFKA_PORT", "PLAYBALL_POSTGRES_PORT"])
@pytest.mark.parametrize("value", ["80", "70000"])
def test_port_out_of_range_is_a_clear_error(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=rf"port {value} is outside 1024-65535"):
        StackSettings()


def test_database_url_from_the_environment_makes_postgres_external(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql+psycopg://app:pw@db.example:5432/app"
    monkeypatch.setenv("DATABASE_URL", url)
    settings = StackSettings()
    assert settings.database_url == url
    assert settings.home == clean_env

    stack = Stack(settings)

    assert stack.postgres is None
    assert [c.name for c in stack.components()] == ["registry", "kafka"]
    assert stack.registry is not None
    assert stack.registry.database_url == url  # the registry stores into that server


def test_a_fully_external_stack_owns_no_component(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pw@127.0.0.1:1/db")
    monkeypatch.setenv("PLAYBALL_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("PLAYBALL_SCHEMA_REGISTRY_URL", "http://127.0.0.1:1")
    stack = Stack(StackSettings())
    assert stack.components() == []
    assert stack.logs() == {}
    assert stack.kafka_bootstrap == "127.0.0.1:1"
    assert stack.registry_url == "http://127.0.0.1:1"


def test_three_recorded_brokers_give_three_nodes(clean_env: Path) -> None:
    (clean_env / "kafka").mkdir(parents=True)
    (clean_env / "kafka" / "brokers").write_text("3\n")
    stack = Stack(StackSettings(kafka_port=29092))
    assert [n.name for n in stack.kafka_nodes] == ["kafka-1", "kafka-2", "kafka-3"]
    assert stack.kafka_bootstrap == bootstrap_servers(29092, 3)


# -- status of external components ---------------------------------------------------------------


@pytest.fixture
def registry_stub() -> Iterator[str]:
    """A loopback HTTP server answering ``GET /subjects`` like an empty registry."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path.endswith("/subjects")
            body = b"[]" if ok else b"{}"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/apis/ccompat/v7"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_external_registry_probe(registry_stub: str, bound_not_listening: int) -> None:
    assert registry_answers(registry_stub)
    assert not registry_answers(f"http://127.0.0.1:{bound_not_listening}/apis/ccompat/v7")


def test_external_database_probe_fails_on_a_dead_port(bound_not_listening: int) -> None:
    assert not _database_answers(f"postgresql+psycopg://u:pw@127.0.0.1:{bound_not_listening}/db")
    # databases other than PostgreSQL are not probed
    assert _database_answers("sqlite:///tmp/nothing-here.db")


def test_status_probes_external_components_instead_of_assuming_health(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, registry_stub: str, bound_not_listening: int
) -> None:
    dead = f"127.0.0.1:{bound_not_listening}"
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://u:secret@{dead}/db")
    monkeypatch.setenv("PLAYBALL_KAFKA_BOOTSTRAP", dead)
    monkeypatch.setenv("PLAYBALL_SCHEMA_REGISTRY_URL", registry_stub)

    rows = {row.name: row for row in Stack(StackSettings()).status()}

    assert set(rows) == {"postgres", "registry", "kafka"}
    assert all(row.external and row.pid is None for row in rows.values())
    assert rows["registry"].healthy
    assert not rows["postgres"].healthy
    assert not rows["kafka"].healthy
    assert "secret" not in rows["postgres"].address


# -- processes -----------------------------------------------------------------------------------


def _sleeper(tmp_path: Path, marker: Path) -> tuple[ManagedProcess, list[str]]:
    """A shell (carrying ``marker`` as its $0) with a ``sleep`` child in its process group."""
    marker.parent.mkdir(parents=True, exist_ok=True)
    child_pid = tmp_path / "child.pid"
    process = ManagedProcess(
        name="sleeper",
        pid_file=tmp_path / "run" / "sleeper.pid",
        log_file=tmp_path / "run" / "sleeper.log",
        marker=str(marker),
    )
    argv = ["sh", "-c", f'sleep 300 & echo $! > "{child_pid}"; wait', str(marker)]
    return process, argv


def test_managed_process_start_then_stop_leaves_nothing_running(tmp_path: Path) -> None:
    marker = tmp_path / "home" / "sleeper.conf"
    process, argv = _sleeper(tmp_path, marker)
    (tmp_path / "run").mkdir()

    pid = process.start(argv)

    assert process.pid() == pid
    assert not process.exited_early()
    assert pids_with_marker(str(tmp_path / "home")) == [pid]
    child_file = tmp_path / "child.pid"
    wait_for(lambda: child_file.is_file() and child_file.read_text().strip() != "", "child pid")
    child = int(child_file.read_text())
    assert is_running(child)

    process.stop(timeout=10.0)

    assert not is_running(pid)
    assert not is_running(child), "the sleep child in the process group survived"
    assert process.pid() is None
    assert not process.pid_file.exists()
    assert pids_with_marker(str(tmp_path / "home")) == []


def test_managed_process_kill(tmp_path: Path) -> None:
    process, argv = _sleeper(tmp_path, tmp_path / "home" / "sleeper.conf")
    (tmp_path / "run").mkdir()
    pid = process.start(argv)

    process.kill()

    assert not is_running(pid)
    assert process.pid() is None


def test_sweep_marker_matches_whole_path_components(tmp_path: Path) -> None:
    # another stack whose home merely starts with the same characters is not ours
    process, argv = _sleeper(tmp_path, tmp_path / "home2" / "sleeper.conf")
    (tmp_path / "run").mkdir()
    pid = process.start(argv)
    try:
        assert carries_marker(pid, str(tmp_path / "home2"))
        assert carries_marker(pid, str(tmp_path))
        assert not carries_marker(pid, str(tmp_path / "home"))
        assert pid not in pids_with_marker(str(tmp_path / "home"))
    finally:
        process.stop(timeout=10.0)
    assert not is_running(pid)


def test_pid_file_naming_a_dead_or_foreign_process_is_not_ours(tmp_path: Path) -> None:
    process = ManagedProcess(
        name="ghost",
        pid_file=tmp_path / "ghost.pid",
        log_file=tmp_path / "ghost.log",
        marker=str(tmp_path / "ghost.conf"),
    )
    assert process.pid() is None  # no pid file

    finished = subprocess.Popen(["true"])
    finished.wait()
    process.pid_file.write_text(f"{finished.pid}\n")
    assert process.pid() is None  # dead
    assert process.exited_early()

    process.pid_file.write_text(f"{os.getpid()}\n")  # alive, but without our marker
    assert process.pid() is None
    process.stop(timeout=1.0)  # must not signal this very test process
    assert is_running(os.getpid())
    assert not process.pid_file.exists()

    process.pid_file.write_text("not a pid\n")
    assert process.pid() is None


def test_postgres_pid_file_naming_a_foreign_process_is_not_ours(tmp_path: Path) -> None:
    postgres = Postgres(tmp_path, 15432)
    postgres.data.mkdir(parents=True)
    (postgres.data / "postmaster.pid").write_text(f"{os.getpid()}\n{postgres.data}\n")
    assert postgres.pid() is None
    postgres.kill()  # a stale postmaster.pid must never get a reused pid SIGKILLed
    assert is_running(os.getpid())


def test_tail(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {n}\n" for n in range(1, 11)))
    assert tail(log, 3) == "line 8\nline 9\nline 10"
    assert tail(log, 0) == ""
    assert tail(tmp_path / "missing.log") == f"(no log at {tmp_path / 'missing.log'})"


# -- ports ---------------------------------------------------------------------------------------


def test_is_listening_and_holder_of_a_socket_we_open(listening_port: int) -> None:
    assert is_listening(listening_port)
    holder = holder_of(listening_port)
    if holder is not None:  # `ss` may be missing or may not show other users' processes
        assert holder.endswith(f" pid {os.getpid()}")


def test_a_bound_but_silent_port_is_not_listening(bound_not_listening: int) -> None:
    assert not is_listening(bound_not_listening)
    assert holder_of(bound_not_listening) is None


# -- the start phase, with components that run no process ------------------------------------------


class FakeComponent(Component):
    program = "fake-server"

    def __init__(self, name: str, port: int, tmp_path: Path, *, running: bool = False) -> None:
        self.name = name
        self.dir = tmp_path / name
        self.port = port
        self.alive = running
        self.launched = 0
        self.log = tmp_path / f"{name}.log"
        self.log.write_text(f"{name} says goodbye\n")

    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def runtime_dir(self) -> Path:
        return self.dir

    def ports(self) -> tuple[int, ...]:
        return (self.port,)

    def prepare(self, progress: Progress) -> None:
        pass

    def launch(self) -> None:
        self.launched += 1  # "crashes" at once: pid() stays None

    def healthy(self) -> bool:
        return False

    def pid(self) -> int | None:
        if self.alive:
            self.alive = False  # found running once, then it dies
            return 4242
        return None

    def stop(self) -> None:
        pass

    def kill(self) -> None:
        pass

    def log_file(self) -> Path:
        return self.log


@pytest.fixture
def external_stack(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pw@127.0.0.1:1/db")
    monkeypatch.setenv("PLAYBALL_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("PLAYBALL_SCHEMA_REGISTRY_URL", "http://127.0.0.1:1")
    return Stack(StackSettings())


def test_busy_port_is_refused_before_anything_launches(
    external_stack: Stack, tmp_path: Path, listening_port: int
) -> None:
    fake = FakeComponent("thing", listening_port, tmp_path)
    with pytest.raises(PortInUseError) as refused:
        external_stack._start_phase([fake], deadline=time.monotonic() + 60)
    assert refused.value.port == listening_port
    assert refused.value.component == "thing"
    assert str(listening_port) in str(refused.value)
    assert "PLAYBALL_*_PORT" in str(refused.value)
    assert fake.launched == 0


def test_a_component_that_dies_on_start_fails_with_its_log(
    external_stack: Stack, tmp_path: Path
) -> None:
    fake = FakeComponent("thing", free_port(), tmp_path)
    with pytest.raises(ComponentFailedError, match="exited while starting") as failed:
        external_stack._start_phase([fake], deadline=time.monotonic() + 600)
    assert fake.launched == 1
    assert failed.value.component == "thing"
    assert "thing says goodbye" in failed.value.log_tail


def test_a_half_started_component_that_dies_fails_instead_of_waiting_out_the_deadline(
    external_stack: Stack, tmp_path: Path
) -> None:
    # found running by `up` (so not launched again), then its process disappears
    fake = FakeComponent("thing", free_port(), tmp_path, running=True)
    with pytest.raises(ComponentFailedError, match="exited while starting"):
        external_stack._start_phase([fake], deadline=time.monotonic() + 600)
    assert fake.launched == 0


# -- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def runner(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI whose registry and database are external; Kafka would live in a tmp home."""
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:pw@127.0.0.1:1/db")
    monkeypatch.setenv("PLAYBALL_SCHEMA_REGISTRY_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("PLAYBALL_KAFKA_PORT", str(free_port()))
    return CliRunner()


def test_logs_of_an_unknown_component_exits_2_naming_the_choices(runner: CliRunner) -> None:
    result = runner.invoke(app, ["logs", "zookeeper"])
    assert result.exit_code == 2, result.output
    assert "'zookeeper' is not a component of this stack" in result.output
    assert "choose from kafka" in result.output


def test_logs_of_an_external_component_says_so(runner: CliRunner) -> None:
    result = runner.invoke(app, ["logs", "postgres"])
    assert result.exit_code == 2, result.output
    assert "'postgres' is external" in result.output


def test_logs_of_a_component_that_never_ran(runner: CliRunner, clean_env: Path) -> None:
    result = runner.invoke(app, ["logs", "kafka"])
    assert result.exit_code == 0, result.output
    assert "(no log at" in result.output
    assert not (clean_env / "kafka").exists()  # asking for logs creates nothing


def test_invalid_port_setting_is_reported_by_variable(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYBALL_REGISTRY_PORT", "99999")
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2, result.output
    assert "PLAYBALL_REGISTRY_PORT" in result.output
    assert "port 99999 is outside 1024-65535" in result.output
    assert "Traceback" not in result.output


@pytest.fixture
def all_external(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:pw@127.0.0.1:1/db")
    monkeypatch.setenv("PLAYBALL_SCHEMA_REGISTRY_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("PLAYBALL_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    precious = clean_env / "kafka" / "precious"
    precious.parent.mkdir(parents=True)
    precious.write_text("keep me")
    (clean_env / HOME_MARKER).touch()  # as `stack up` leaves it
    return precious


def test_reset_answered_no_deletes_nothing(all_external: Path) -> None:
    result = CliRunner().invoke(app, ["reset"], input="n\n")
    assert result.exit_code != 0, result.output
    assert "delete all stack data under" in result.output
    assert all_external.read_text() == "keep me"


def test_reset_yes_deletes_the_home(all_external: Path, clean_env: Path) -> None:
    result = CliRunner().invoke(app, ["reset", "--yes"])
    assert result.exit_code == 0, result.output
    assert not clean_env.exists()


def test_reset_refuses_a_directory_that_is_not_a_stack_home(
    all_external: Path, clean_env: Path
) -> None:
    # PLAYBALL_HOME pointed at the wrong place: nothing there may be deleted
    (clean_env / HOME_MARKER).unlink()
    result = CliRunner().invoke(app, ["reset", "--yes"])
    assert result.exit_code == 1
    assert "not a playball stack home" in " ".join(result.output.split())  # rich wraps lines
    assert all_external.read_text() == "keep me"


def test_leftover_search_ignores_other_programs_naming_the_same_directory(tmp_path: Path) -> None:
    # a user's `tail -f` on a broker log must survive `stack down`; only servers are leftovers
    runtime = tmp_path / "kafka" / "node-1"
    runtime.mkdir(parents=True)
    log = runtime / "server.log"
    log.write_text("")
    watcher = subprocess.Popen(["tail", "-f", str(log)])
    try:
        assert watcher.pid in pids_with_marker(str(runtime))
        assert watcher.pid not in pids_with_marker(str(runtime), programs={"java"})
        assert watcher.pid in pids_with_marker(str(runtime), programs={"tail"})
    finally:
        watcher.kill()
        watcher.wait()
