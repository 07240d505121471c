"""Helpers for stack tests: addresses nothing answers on, free ports, a second stack's
settings, and a condition poller (fixtures are in tests/stack/conftest.py)."""

import os
import random
import shutil
import socket
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest
from playball_stack.settings import StackSettings

# Addresses nothing answers on (port 1 is never ours to listen on): a component pointed
# there is external, so a test's stack never starts or stops it.
DEAD_DATABASE_URL = "postgresql+psycopg://u:pw@127.0.0.1:1/db"
DEAD_REGISTRY_URL = "http://127.0.0.1:1"
DEAD_KAFKA_BOOTSTRAP = "127.0.0.1:1"

# Test servers take ports from here up to the kernel's ephemeral range (see free_port_run)
PORT_FLOOR = 20000

# Scratch brokers only start, take some load and die: the JIT's first tier alone starts a
# 3-node cluster on ~40% less CPU, a single broker on 2.8-3.5 CPU-s instead of 4.8-6.6,
# which the rest of the suite, sharing 2 cores, gets. The broker-outage tests' producers
# (3 s delivery timeouts) keep up with a C1 broker: they passed with four busy loops
# running beside them.
SCRATCH_KAFKA_JVM_OPTIONS = "-XX:TieredStopAtLevel=1"


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not true within {timeout} s")
        time.sleep(0.02)


def free_port() -> int:
    """A loopback port nobody listens on, outside the kernel's ephemeral range."""
    return free_port_run(1)


def free_port_run(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports, below the ephemeral range.

    Not a port the OS picks (bind to 0): those come from the ephemeral range, which every
    outgoing connection on the machine draws from too, so a server stopped and started
    again (a broker, a relay's metrics) could find its port taken by some client's
    connection meanwhile. Ports below the range are only ever taken on purpose, and each
    xdist worker draws from a slice of its own.
    """
    low, high = _worker_slice(PORT_FLOOR, _ephemeral_low())
    high -= count
    for _ in range(200):
        base = random.randrange(low, high)
        with ExitStack() as held:
            try:
                for port in range(base, base + count):
                    probe = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                    probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return base
    msg = f"no run of {count} free ports in {low}-{high}"
    raise RuntimeError(msg)


def _worker_slice(low: int, high: int) -> tuple[int, int]:
    """This pytest-xdist worker's own part of ``low..high``: while a test's broker is down,
    a test on another worker can never take its port."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    size = (high - low) // max(workers, 1)
    return low + worker * size, low + (worker + 1) * size


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def share_secrets(session: StackSettings, home: Path) -> None:
    """Seed ``home`` with the session stack's passwords and CA before its first ``up``.

    A second stack then has the same principals with the same passwords, and certificates
    from the same CA: the test process's client settings (the session's admin) and the
    services' credentials files work against it unchanged, as they would against a
    second cluster of one deployment.
    """
    for relative in (
        Path("credentials") / ".passwords",
        Path("tls") / "ca.pem",
        Path("tls") / "ca-key.pem",
    ):
        source, target = session.home / relative, home / relative
        if source.is_file() and not target.exists():
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            shutil.copy2(source, target)


def kafka_only_settings(
    session: StackSettings, home: Path, kafka_port: int, kafka_heap: str = "512m"
) -> StackSettings:
    """A second stack in ``home`` that starts only Kafka, on ``kafka_port``; PostgreSQL and
    the registry are the session stack's. Its secrets are the session's (share_secrets)."""
    share_secrets(session, home)
    return StackSettings(
        home=home,
        cache_dir=session.cache_dir,
        kafka_port=kafka_port,
        database_url=session.effective_database_url,
        schema_registry_url=session.effective_registry_url,
        kafka_heap=kafka_heap,
        kafka_jvm_options=SCRATCH_KAFKA_JVM_OPTIONS,
    )


def private_stack_settings(session: StackSettings, home: Path) -> StackSettings:
    """A whole second stack in ``home`` (PostgreSQL, registry, Kafka) on free ports.

    ``home`` should be a short path (the PostgreSQL socket lives in it, and a socket path
    may not exceed ~107 bytes) that the ``postgres`` user can reach. Its secrets are the
    session's (share_secrets).
    """
    share_secrets(session, home)
    return StackSettings(
        home=home,
        cache_dir=session.cache_dir,
        kafka_port=free_port_run(2),  # client and controller listeners
        registry_port=free_port_run(2),  # its management interface takes the next port
        postgres_port=free_port(),
        database_url=None,
        postgres_admin_url=None,  # its own server's, even with the session's exported
        kafka_bootstrap=None,
        schema_registry_url=None,
        kafka_heap="256m",
        kafka_jvm_options=SCRATCH_KAFKA_JVM_OPTIONS,
        registry_jvm_options=SCRATCH_KAFKA_JVM_OPTIONS,
    )
