"""`playball topics ensure`: the manifest's topics and their .dlq, with explicit settings,
idempotently, and the relay's and the consumer's ACLs on them; differing settings
reported, or with --apply-configs changed (never the partitions or the replication); and
`playball schemas register` ensures the topics of the manifest it registered.

The ACLs an ensure grants on a test's topics and on its consumer group (a group of the
test's own, through PLAYBALL_GROUPS_CONSUMER_GROUP) are revoked when the test ends."""

import functools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._acl import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
)
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType
from playball_core.local_stack import KAFKA_CONSUMER, KAFKA_RELAY
from playball_events.cli_topics import CONSUMER_GROUP_VARIABLE
from playball_events.cli_topics import app as topics_app
from playball_events.kafka_security import kafka_security_from_environment
from playball_events.topics_acls_kafka import AclAdmin
from playball_events.topics_admin_kafka import TopicDifference, TopicsAdmin, topic_specs
from playball_schemagate.cli import app as schemas_app
from support.kafka import client_config, create_topic
from support.paths import SCHEMA_DIR
from support.stack_env import wait_for
from typer.testing import CliRunner

runner = CliRunner()

READ, WRITE, DESCRIBE = AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE
TOPIC, GROUP = ResourceType.TOPIC, ResourceType.GROUP
# (resource type, resource name, principal, operation) of an ACL that allows
Grant = tuple[object, str, str, object]
# what `topics ensure` sets on a topic and its .dlq to bound erasure (docs/privacy.md)
ERASURE_BOUND_DEFAULTS = {
    "max.compaction.lag.ms": "86400000",
    "segment.ms": "86400000",
    "min.cleanable.dirty.ratio": "0.1",
    "delete.retention.ms": "86400000",
}


def acls_under(bootstrap: str, prefix: str) -> list[AclBinding]:
    """Every ACL binding on a resource whose name starts with ``prefix``."""
    admin = AdminClient(client_config(bootstrap))
    anything: Any = None  # what matches any name, principal or host (typed str)
    every = AclBindingFilter(
        ResourceType.ANY,
        anything,
        ResourcePatternType.ANY,
        anything,
        anything,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    found: list[AclBinding] = admin.describe_acls(every, request_timeout=10).result(timeout=20)
    return [binding for binding in found if binding.name.startswith(prefix)]


def granted(bootstrap: str, prefix: str) -> set[Grant]:
    """(resource type, name, principal, operation) of the LITERAL ALLOWs under ``prefix``."""
    return {
        (b.restype, b.name, b.principal, b.operation)
        for b in acls_under(bootstrap, prefix)
        if b.resource_pattern_type == ResourcePatternType.LITERAL
        and b.permission_type == AclPermissionType.ALLOW
        and b.host == "*"
    }


def service_acls_on(topic: str, group: str) -> set[Grant]:
    """What the relay and the consumer need on ``topic``: the relay writes it, the consumer
    reads it in ``group`` and writes its .dlq."""
    relay, consumer = f"User:{KAFKA_RELAY}", f"User:{KAFKA_CONSUMER}"
    return {
        (TOPIC, topic, relay, WRITE),
        (TOPIC, topic, relay, DESCRIBE),
        (TOPIC, topic, consumer, READ),
        (GROUP, group, consumer, READ),
        (TOPIC, f"{topic}.dlq", consumer, WRITE),
    }


def assert_granted(bootstrap: str, prefix: str, wanted: set[Grant]) -> None:
    """The ACLs under ``prefix`` are exactly ``wanted``, once the broker asked has applied
    what its controller committed (a moment after the grant answered)."""
    deadline = time.monotonic() + 30
    while (found := granted(bootstrap, prefix)) != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
    assert found == wanted


def granted_line(topic: str, group: str) -> str:
    return (
        f"granted   topic {topic}: write to {KAFKA_RELAY}, read (group {group}) and .dlq "
        f"write to {KAFKA_CONSUMER}\n"
    )


@pytest.fixture
def consumer_group(
    kafka_bootstrap: str, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The test's own consumer group, the one an ensure grants the consumer; afterwards
    every ACL on the test's topics and group is revoked (as the admin). A test sees its
    grants through :func:`assert_granted` first: the sweep finds what the broker lists."""
    monkeypatch.setenv(CONSUMER_GROUP_VARIABLE, unique_name)
    yield unique_name
    AclAdmin(AdminClient(client_config(kafka_bootstrap))).revoke(
        acls_under(kafka_bootstrap, unique_name)
    )


def describe(bootstrap: str, topic: str) -> tuple[int, int, dict[str, str]]:
    admin = AdminClient(client_config(bootstrap))
    deadline = time.monotonic() + 30
    while True:
        # a broker answering just after the creation may know the topic before it has
        # applied its partitions' assignment: read again until every partition has one
        metadata = admin.list_topics(topic, timeout=10).topics[topic]
        replicas = [len(p.replicas) for p in metadata.partitions.values()]
        if metadata.error is None and replicas and min(replicas) > 0:
            break
        assert time.monotonic() < deadline, f"topic {topic}: no complete metadata in 30 s"
        time.sleep(0.05)
    partitions = len(metadata.partitions)
    replication = min(replicas)
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = admin.describe_configs([resource])[resource].result(timeout=10)
    return partitions, replication, {k: str(v.value) for k, v in entries.items()}


def test_a_cluster_of_three_brokers_gets_replication_three_and_min_insync_two() -> None:
    single = topic_specs(["t"], brokers=1)
    cluster = topic_specs(["t"], brokers=3)
    assert [s.name for s in single] == ["t", "t.dlq"]
    assert {(s.partitions, s.replication) for s in single} == {(6, 1)}
    assert single[0].config == {
        "cleanup.policy": "compact",
        **ERASURE_BOUND_DEFAULTS,
        "max.message.bytes": "1048576",
    }
    assert {(s.partitions, s.replication) for s in cluster} == {(6, 3)}
    assert cluster[1].config == {
        "cleanup.policy": "compact",
        **ERASURE_BOUND_DEFAULTS,
        "min.insync.replicas": "2",
        "max.message.bytes": str(1048576 + 65536),
    }


def test_the_dead_letter_topic_takes_64_kib_more_than_its_topic() -> None:
    specs = {s.name: s.config for s in topic_specs(["t"], brokers=1, max_message_bytes=2_000_000)}
    assert specs["t"]["max.message.bytes"] == "2000000"
    assert specs["t.dlq"]["max.message.bytes"] == "2065536"


@pytest.mark.stack
def test_ensure_creates_each_topic_and_its_dead_letter_topic_once_and_grants_the_services(
    kafka_bootstrap: str, unique_name: str, consumer_group: str
) -> None:
    args = ["ensure", "--bootstrap", kafka_bootstrap, "--topic", unique_name]
    first = runner.invoke(topics_app, args)
    assert first.exit_code == 0, first.output
    assert f"created   topic {unique_name}\n" in first.output
    assert f"created   topic {unique_name}.dlq\n" in first.output
    assert granted_line(unique_name, consumer_group) in first.output
    assert f"granted   topic {unique_name}.dlq" not in first.output  # granted with its topic
    for name in (unique_name, f"{unique_name}.dlq"):
        partitions, replication, config = describe(kafka_bootstrap, name)
        assert (partitions, replication) == (6, 1)
        assert config["cleanup.policy"] == "compact"
    # on the test's topic, its .dlq and its group: what the services need, no more
    assert_granted(kafka_bootstrap, unique_name, service_acls_on(unique_name, consumer_group))
    again = runner.invoke(topics_app, args)
    assert again.exit_code == 0, again.output
    assert "created" not in again.output
    assert f"exists    topic {unique_name}.dlq\n" in again.output
    assert granted_line(unique_name, consumer_group) in again.output  # idempotent
    assert_granted(kafka_bootstrap, unique_name, service_acls_on(unique_name, consumer_group))


@pytest.mark.stack
def test_an_existing_topic_with_other_settings_is_reported_not_changed(
    kafka_bootstrap: str, unique_name: str, consumer_group: str
) -> None:
    create_topic(kafka_bootstrap, unique_name, partitions=2, config={"cleanup.policy": "delete"})
    result = runner.invoke(
        topics_app, ["ensure", "--bootstrap", kafka_bootstrap, "--topic", unique_name]
    )
    assert result.exit_code == 1
    assert f"differs   topic {unique_name}: partitions is 2, wanted 6" in result.output
    assert (
        f"differs   topic {unique_name}: cleanup.policy is delete, wanted compact" in result.output
    )
    assert describe(kafka_bootstrap, unique_name)[0] == 2  # left alone
    assert describe(kafka_bootstrap, unique_name)[2]["cleanup.policy"] == "delete"
    assert "--apply-configs" in result.output
    # a topic that differs is still the services' topic: they get their ACLs on it
    assert granted_line(unique_name, consumer_group) in result.output
    assert_granted(kafka_bootstrap, unique_name, service_acls_on(unique_name, consumer_group))


@pytest.mark.stack
def test_apply_configs_changes_the_configuration_never_partitions_or_replication(
    kafka_bootstrap: str, unique_name: str, consumer_group: str
) -> None:
    create_topic(kafka_bootstrap, unique_name, partitions=2, config={"cleanup.policy": "delete"})
    create_topic(kafka_bootstrap, f"{unique_name}.dlq", partitions=6)
    args = ["ensure", "--bootstrap", kafka_bootstrap, "--topic", unique_name, "--apply-configs"]
    result = runner.invoke(topics_app, args)
    assert result.exit_code == 1, result.output  # the partitions still differ
    assert f"altered   topic {unique_name}: cleanup.policy was delete, now compact" in (
        result.output
    )
    assert f"differs   topic {unique_name}: partitions is 2, wanted 6" in result.output
    assert_granted(kafka_bootstrap, unique_name, service_acls_on(unique_name, consumer_group))
    wanted = {
        unique_name: ("compact", "1048576"),
        f"{unique_name}.dlq": ("compact", str(1048576 + 65536)),
    }

    def applied(topic: str) -> bool:
        # the controller has the change when the alter answers; the broker describing
        # the topic applies it from the metadata log a moment later
        config = describe(kafka_bootstrap, topic)[2]
        return (config["cleanup.policy"], config["max.message.bytes"]) == wanted[topic]

    for topic in wanted:
        wait_for(functools.partial(applied, topic), f"{topic}: the altered configs show", 30)
    partitions, replication, _config = describe(kafka_bootstrap, unique_name)
    assert (partitions, replication) == (2, 1)
    # entry by entry: nothing else of the topic's own settings was set or dropped
    # (delete.retention.ms is left out: its wanted value is the broker's default already,
    # so it never differed and was not set)
    assert set(_topic_overrides(kafka_bootstrap, unique_name)) == {
        "cleanup.policy",
        "max.message.bytes",
        *(set(ERASURE_BOUND_DEFAULTS) - {"delete.retention.ms"}),
    }
    again = runner.invoke(topics_app, args)
    assert "altered" not in again.output  # nothing left to change


@pytest.mark.stack
def test_a_topic_created_after_the_metadata_was_read_is_compared_not_skipped(
    kafka_bootstrap: str, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a racing ensure, or a broker whose metadata lags its controller, looks like:
    # the topic is missing from the first read, and creating it answers "already exists".
    create_topic(kafka_bootstrap, unique_name, partitions=2, config={"cleanup.policy": "delete"})
    admin = TopicsAdmin(kafka_bootstrap, security=kafka_security_from_environment())
    read_metadata = admin._metadata
    reads = 0

    def stale_first_read() -> object:
        nonlocal reads
        reads += 1
        metadata = read_metadata()
        if reads == 1:
            metadata.topics.pop(unique_name, None)  # type: ignore[attr-defined]
        return metadata

    monkeypatch.setattr(admin, "_metadata", stale_first_read)
    report = admin.ensure([unique_name])
    assert unique_name in report.existing
    assert unique_name not in report.created
    assert TopicDifference(unique_name, "partitions", "6", "2") in report.differences
    assert TopicDifference(unique_name, "cleanup.policy", "compact", "delete") in report.differences


@pytest.mark.stack
def test_an_unreachable_broker_exits_3() -> None:
    result = runner.invoke(topics_app, ["ensure", "--bootstrap", "127.0.0.1:1", "--topic", "x"])
    assert result.exit_code == 3
    assert "no Kafka broker answered" in result.output


@pytest.mark.stack
def test_schemas_register_ensures_the_topics_of_the_manifest_it_registered(
    tmp_path: Path, unique_name: str, registry_url: str, kafka_bootstrap: str, consumer_group: str
) -> None:
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    text = (SCHEMA_DIR / "UserDeleted.avsc").read_text(encoding="utf-8")
    (schemas / "UserDeleted.avsc").write_text(text, encoding="utf-8")
    topic = f"{unique_name}.users"
    (schemas / "manifest.toml").write_text(
        f'[[schema]]\nfile = "UserDeleted.avsc"\ntopic = "{topic}"\n'
        f'subject = "{topic}-playball.auth.v1.UserDeleted"\ncompatibility = "BACKWARD"\n',
        encoding="utf-8",
    )
    result = runner.invoke(
        schemas_app,
        ["register", "--schemas", str(schemas), "--registry-url", registry_url],
        env={"PLAYBALL_KAFKA_BOOTSTRAP": kafka_bootstrap},
    )
    assert result.exit_code == 0, result.output
    assert f"created   topic {topic}\n" in result.output
    assert granted_line(topic, consumer_group) in result.output
    assert describe(kafka_bootstrap, f"{topic}.dlq")[0] == 6
    assert_granted(kafka_bootstrap, unique_name, service_acls_on(topic, consumer_group))


def _topic_overrides(bootstrap: str, topic: str) -> dict[str, str]:
    """The settings set on the topic itself (not inherited from the broker)."""
    from confluent_kafka.admin._config import ConfigSource  # noqa: PLC0415

    admin = AdminClient(client_config(bootstrap))
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = admin.describe_configs([resource])[resource].result(timeout=10)
    return {
        k: str(v.value)
        for k, v in entries.items()
        if v.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    }
