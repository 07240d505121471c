"""Kafka's layout on loopback: ports, node properties, cluster ids, recorded broker count."""

import re
import uuid
from pathlib import Path

import pytest
from playball_stack.components.kafka import (
    KafkaCluster,
    KafkaNode,
    bootstrap_servers,
    client_port,
    controller_port,
    new_cluster_id,
)
from playball_stack.stack import (
    recorded_brokers,
)


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
    lines = node.server_properties().splitlines()
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
