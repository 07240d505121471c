"""A 3-node KRaft cluster on loopback, started with the configured JVM options.

Losing a broker of it is tested where it matters, under a relay's write load
(tests/relay/test_relay_cluster.py: a replication-factor-3 topic keeps every event
through a killed node, and through two killed and restarted).
"""

import shlex
from pathlib import Path

import pytest
from playball_stack.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.cluster]


def test_each_node_runs_with_the_configured_extra_jvm_options(kafka_cluster: Stack) -> None:
    # the session's cluster as it is (a broker killed by the test before is not started
    # again for this: the running nodes are checked, and a restart costs a JVM start)
    # private_kafka sets PLAYBALL_KAFKA_JVM_OPTIONS' field; every node must have received it
    wanted = shlex.split(kafka_cluster.settings.kafka_jvm_options)
    assert wanted
    running = [pid for node in kafka_cluster.kafka_nodes if (pid := node.pid()) is not None]
    assert running  # the other tests kill one node of three at most, or restart the two
    for pid in running:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert all(option.encode() in argv for option in wanted), argv
