"""`playball up --brokers 3` runs the demo, each process as its own Kafka principal.

On the session's 3-node cluster (tests/conftest.py: ``kafka_cluster``), with the
session's PostgreSQL and registry as external components, fresh databases and free
service ports: what `playball up --brokers 3` does (`System(..., brokers=3).up()`),
then the demo, then `status` as `status --json` shows it.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource
from playball_core import local_stack
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_orchestration.demo import run
from playball_orchestration.system import System
from playball_stack.settings import StackSettings
from playball_stack.stack import Stack
from support.databases import fresh_postgres
from support.kafka import client_config
from support.private_kafka import running_cluster
from support.system import PASSWORD_COST_ENV, free_service_ports, signing_keys

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.xdist_group("cluster")]


@pytest.fixture
def system(
    kafka_cluster: Stack,
    stack: StackSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[System]:
    cluster = running_cluster(kafka_cluster)
    server = stack.effective_database_url
    with (
        fresh_postgres(server, "playball_auth_up3") as auth_db,
        fresh_postgres(server, "playball_groups_up3") as groups_db,
    ):
        # the setup steps and the services inherit these, as from a deployer's shell
        for name, value in {
            "PLAYBALL_AUTH_DATABASE_URL": auth_db,
            "PLAYBALL_GROUPS_DATABASE_URL": groups_db,
            "PLAYBALL_AUTH_SIGNING_KEYS": str(signing_keys(tmp_path)),
            **PASSWORD_COST_ENV,
        }.items():
            monkeypatch.setenv(name, value)
        ports = free_service_ports()
        system = System(cluster.settings, lambda _message: None, brokers=3, ports=ports)
        try:
            yield system
        finally:  # the services only: the cluster is the session's
            for spec in reversed(system.specs):
                system.services.stop(spec)


def test_up_on_three_brokers_runs_the_demo_each_process_as_its_principal(
    system: System,
) -> None:
    system.up()
    addresses = {spec.name: spec.address for spec in system.specs}
    lines: list[str] = []
    timings = run(
        addresses["auth-api"], addresses["groups-api"], lines.append, ca=str(system.tls.ca)
    )
    assert set(timings) == {"UserRegistered", "UserUpdated", "UserDeleted"}

    reports = {report.name: report for report in system.status()}
    assert [name for name in reports if name.startswith("kafka")] == [
        "kafka-1",
        "kafka-2",
        "kafka-3",
    ]
    assert all(report.healthy for report in reports.values()), reports
    assert {name: report.as_json()["principal"] for name, report in reports.items()} == {
        "postgres": None,  # the session's, external here
        "registry": None,
        "kafka-1": None,
        "kafka-2": None,
        "kafka-3": None,
        "auth-api": None,
        "auth-relay": local_stack.KAFKA_RELAY,
        "groups-api": None,
        "groups-consumer": local_stack.KAFKA_CONSUMER,
    }

    admin = AdminClient(client_config(system.stack.kafka_bootstrap))
    topic = PLAYBALL_AUTH_USER_EVENTS_V1.name
    partitions = admin.list_topics(topic, timeout=30).topics[topic].partitions.values()
    assert {len(partition.replicas) for partition in partitions} == {3}
    resource = ConfigResource("topic", topic)
    configs = admin.describe_configs([resource])[resource].result(timeout=30)
    assert configs["min.insync.replicas"].value == "2"
