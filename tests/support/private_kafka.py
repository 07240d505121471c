"""A private single-broker Kafka on free ports, for tests that stop the broker.

Never the shared stack's: stopping that would break every other test using it.
"""

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playball_stack.processes import pids_with_marker
from playball_stack.settings import StackSettings
from playball_stack.stack import Stack


def free_port_pair() -> int:
    """A port whose successor is free too (client and controller listeners)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port >= 65535:
            continue
        with socket.socket() as other:
            try:
                other.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


@contextmanager
def private_kafka(stack: StackSettings, home: Path) -> Iterator[Stack]:
    """A one-broker Kafka under ``home``, beside the shared Postgres and registry."""
    settings = StackSettings(
        home=home,
        cache_dir=stack.cache_dir,
        kafka_port=free_port_pair(),
        kafka_heap="256m",
        database_url=stack.effective_database_url,  # only Kafka is started here
        schema_registry_url=stack.effective_registry_url,
    )
    cluster = Stack(settings, brokers=1)
    try:
        cluster.up(timeout=180)
        yield cluster
    finally:
        cluster.down()
        assert pids_with_marker(str(home)) == []
