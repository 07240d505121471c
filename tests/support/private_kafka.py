"""A private Kafka on free ports (one broker, or a 3-node cluster), for tests that stop
or kill brokers.

Never the shared stack's: stopping that would break every other test using it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playball_stack.processes import kill_and_wait, pids_with_marker
from playball_stack.settings import StackSettings
from playball_stack.stack import Stack

from support.stack_env import SCRATCH_KAFKA_JVM_OPTIONS, free_port_run, share_secrets


@contextmanager
def private_kafka(stack: StackSettings, home: Path, brokers: int = 1) -> Iterator[Stack]:
    """``brokers`` Kafka nodes under ``home``, beside the shared Postgres and registry.

    Every node is stopped on the way out (SIGKILLed if it will not stop), and nothing
    naming ``home`` may be left running. Its principals and CA are the session stack's
    (:func:`~support.stack_env.share_secrets`): the test process's admin settings and the
    services' credentials work against it unchanged.
    """
    share_secrets(stack, home)
    settings = StackSettings(
        home=home,
        cache_dir=stack.cache_dir,
        kafka_port=free_port_run(2 * brokers),
        kafka_heap="256m",
        kafka_jvm_options=SCRATCH_KAFKA_JVM_OPTIONS,
        database_url=stack.effective_database_url,  # only Kafka is started here
        schema_registry_url=stack.effective_registry_url,
    )
    cluster = Stack(settings, brokers=brokers)
    try:
        cluster.up(timeout=180)
        yield cluster
    finally:
        # A scratch cluster's data is thrown away: SIGKILL it rather than wait out a
        # controlled shutdown (up to a minute once its quorum is gone).
        for node in cluster.components():
            pid = node.pid()
            if pid is not None:
                kill_and_wait(pid)
        cluster.down()
        assert pids_with_marker(str(home)) == []


def running_cluster(cluster: Stack) -> Stack:
    """``cluster`` with all its nodes running and healthy again (a test before may have
    killed some: the session's cluster is shared, see tests/conftest.py)."""
    cluster.up(timeout=240)
    return cluster
