"""What the broker says about the contract topics: their settings, and consumer group lag.

Read as the admin principal (the environment's settings, as every tool reads them): the
services' principals may not describe configs or other groups' offsets.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.admin._listoffsets import OffsetSpec
from playball_events.kafka_errors_kafka import secured_config
from playball_events.kafka_security import KafkaSecurity

from playball_catalog.model import PartitionLag

# What a person asks of a topic; the broker reports dozens more.
SHOWN_SETTINGS = (
    "cleanup.policy",
    "retention.ms",
    "retention.bytes",
    "min.compaction.lag.ms",
    "max.compaction.lag.ms",
    "segment.ms",
    "min.insync.replicas",
    "max.message.bytes",
)


class ClusterUnreachableError(Exception):
    """No broker answered, or it refused what the catalog asked."""


@dataclass(frozen=True, slots=True)
class ClusterFacts:
    settings: dict[str, dict[str, str]]  # topic -> shown settings, with partitions, replication
    lag: dict[str, list[PartitionLag]]  # topic -> every group's lag per partition


def cluster_facts(
    bootstrap: str, topics: Sequence[str], security: KafkaSecurity | None, timeout: float = 10.0
) -> ClusterFacts:
    admin = AdminClient(secured_config({"bootstrap.servers": bootstrap, "log_level": 0}, security))
    try:
        metadata = admin.list_topics(timeout=timeout)
        present = [name for name in topics if name in metadata.topics]
        settings = _settings(admin, metadata, present, timeout)
        ends = _end_offsets(admin, metadata, present, timeout)
        lag = _lag(admin, present, ends, timeout)
    except KafkaException as exc:
        msg = f"the broker at {bootstrap} did not answer the catalog's questions: {exc}"
        raise ClusterUnreachableError(msg) from exc
    return ClusterFacts(settings, lag)


def _settings(
    admin: AdminClient, metadata: object, topics: Sequence[str], timeout: float
) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in topics]
    futures = admin.describe_configs(resources, request_timeout=timeout) if resources else {}
    for resource in resources:
        entries = futures[resource].result(timeout=timeout * 2)
        partitions = metadata.topics[resource.name].partitions  # type: ignore[attr-defined]
        shown = {
            key: str(entries[key].value)
            for key in SHOWN_SETTINGS
            if key in entries and entries[key].value is not None
        }
        shown["partitions"] = str(len(partitions))
        shown["replication factor"] = str(
            max((len(p.replicas) for p in partitions.values()), default=0)
        )
        found[resource.name] = shown
    return found


def _end_offsets(
    admin: AdminClient, metadata: object, topics: Sequence[str], timeout: float
) -> dict[TopicPartition, int]:
    requests = {
        TopicPartition(name, partition): OffsetSpec.latest()  # type: ignore[no-untyped-call]
        for name in topics
        for partition in metadata.topics[name].partitions  # type: ignore[attr-defined]
    }
    if not requests:
        return {}
    futures = admin.list_offsets(requests, request_timeout=timeout)
    return {tp: future.result(timeout=timeout * 2).offset for tp, future in futures.items()}


def _lag(
    admin: AdminClient, topics: Sequence[str], ends: dict[TopicPartition, int], timeout: float
) -> dict[str, list[PartitionLag]]:
    listed = admin.list_consumer_groups(request_timeout=timeout).result(timeout=timeout * 2)
    groups = sorted(group.group_id for group in listed.valid)
    lag: dict[str, list[PartitionLag]] = {name: [] for name in topics}
    end_of = {(tp.topic, tp.partition): offset for tp, offset in ends.items()}
    for group in groups:
        futures = admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=timeout
        )
        answer = futures[group].result(timeout=timeout * 2)
        for tp in answer.topic_partitions or []:
            if tp.topic not in lag:
                continue
            end = end_of.get((tp.topic, tp.partition), 0)
            committed = tp.offset if tp.offset >= 0 else None
            lag[tp.topic].append(
                PartitionLag(
                    group=group,
                    partition=tp.partition,
                    committed=committed,
                    end=end,
                    lag=None if committed is None else max(end - committed, 0),
                )
            )
    for rows in lag.values():
        rows.sort(key=lambda row: (row.group, row.partition))
    return lag
