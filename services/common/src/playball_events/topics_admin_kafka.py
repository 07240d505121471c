"""Create the contracts' topics with explicit settings; never let the broker invent them.

Every manifest topic and its dead-letter topic (``<topic>.dlq``) get 6 partitions,
``cleanup.policy=compact``, and a replication factor of 1, or 3 (with
``min.insync.replicas=2``) when the cluster has at least 3 brokers. A topic takes
messages of up to X bytes (``max.message.bytes``, default 1 MiB) and its dead-letter
topic X + 64 KiB, room for a parked copy's headers (:mod:`playball_events.message_limits`).
Both get the compaction settings that bound erasure (``max.compaction.lag.ms``,
``segment.ms``, ``min.cleanable.dirty.ratio``, ``delete.retention.ms``; see
:mod:`playball_events.topic_settings`).

Ensuring is idempotent: an existing topic is left as it is, and any setting of it that
differs from the wanted one is reported. With ``apply_configs`` the differing
configuration entries are changed (incremental alter configs, entry by entry); the
number of partitions and the replication factor never are (changing them on a live
topic is an operator's decision, not a side effect of a deploy).
"""

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.cimpl import NewTopic
from playball_core.manifest import dead_letter_topic

from playball_events.kafka_errors_kafka import await_metadata, secured_config
from playball_events.kafka_security import KafkaSecurity
from playball_events.message_limits import DEFAULT_MAX_MESSAGE_BYTES, dead_letter_max_bytes
from playball_events.service_principals import ServicePrincipals
from playball_events.topic_settings import TopicSettings
from playball_events.topics_acls_kafka import AclAdmin, service_acls

PARTITIONS = 6
CLUSTER_REPLICATION = 3
CLUSTER_MIN_INSYNC = 2
# Settings ensure compares but never changes: the topic's shape, not its configuration.
STRUCTURE = ("partitions", "replication")


class BrokerUnreachableError(Exception):
    """No broker answered within the timeout."""


class TopicAdminError(Exception):
    """The broker refused to create a topic."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    replication: int
    config: dict[str, str]


@dataclass(frozen=True, slots=True)
class TopicDifference:
    topic: str
    setting: str
    wanted: str
    actual: str


@dataclass(slots=True)
class EnsureReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    differences: list[TopicDifference] = field(default_factory=list)  # left as they are
    altered: list[TopicDifference] = field(default_factory=list)  # changed to the wanted


def default_retention() -> dict[str, str]:
    """The compaction entries of :class:`TopicSettings`' defaults (the environment unread)."""
    return TopicSettings.model_validate({}).topic_config()


def topic_specs(
    topics: Iterable[str],
    brokers: int,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    retention: Mapping[str, str] | None = None,
) -> list[TopicSpec]:
    """Each topic and its dead-letter topic, with the settings a cluster of ``brokers`` gets.

    ``retention``: the compaction entries (:meth:`TopicSettings.topic_config`; default:
    its defaults), the same on a topic and on its dead-letter topic, which holds the same
    users' data under the same keys.
    """
    replication = CLUSTER_REPLICATION if brokers >= CLUSTER_REPLICATION else 1
    config = {
        "cleanup.policy": "compact",
        **(default_retention() if retention is None else retention),
    }
    if replication == CLUSTER_REPLICATION:
        config["min.insync.replicas"] = str(CLUSTER_MIN_INSYNC)
    limits: dict[str, int] = {}
    for topic in topics:
        limits.setdefault(topic, max_message_bytes)
        limits.setdefault(dead_letter_topic(topic), dead_letter_max_bytes(max_message_bytes))
    return [
        TopicSpec(name, PARTITIONS, replication, {**config, "max.message.bytes": str(limit)})
        for name, limit in limits.items()
    ]


class TopicsAdmin:
    def __init__(
        self, bootstrap: str, *, timeout: float = 10.0, security: KafkaSecurity | None = None
    ) -> None:
        self.bootstrap = bootstrap
        self.timeout = timeout
        # librdkafka logs every failed connect on stderr; the caller reports the outcome.
        self._admin = AdminClient(
            secured_config({"bootstrap.servers": bootstrap, "log_level": 0}, security)
        )

    def grant_service_acls(self, topics: Sequence[str], principals: ServicePrincipals) -> bool:
        """The relay's and the consumer's ACLs on ``topics`` (see :mod:`.topics_acls_kafka`);
        False when the cluster has no authorizer. AclAdminError when refused."""
        bindings = [binding for topic in topics for binding in service_acls(topic, principals)]
        return AclAdmin(self._admin, self.timeout).grant(bindings)

    def _metadata(self) -> object:
        try:
            return await_metadata(self._admin, self.timeout)
        except KafkaException as exc:
            msg = f"no Kafka broker answered at {self.bootstrap} within {self.timeout:.0f} s: {exc}"
            raise BrokerUnreachableError(msg) from exc

    def ensure(
        self,
        topics: Sequence[str],
        *,
        apply_configs: bool = False,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        retention: Mapping[str, str] | None = None,
    ) -> EnsureReport:
        """Create what is missing; compare what exists, and with ``apply_configs`` change
        its differing configuration entries (never partitions or replication)."""
        metadata = self._metadata()
        brokers = len(metadata.brokers)  # type: ignore[attr-defined]
        specs = topic_specs(topics, brokers, max_message_bytes, retention)
        present = metadata.topics  # type: ignore[attr-defined]
        report = EnsureReport()
        missing = [spec for spec in specs if spec.name not in present]
        existing = [spec for spec in specs if spec.name in present]
        if missing:
            futures = self._admin.create_topics(
                [NewTopic(s.name, s.partitions, s.replication, config=s.config) for s in missing],
                operation_timeout=self.timeout,
                request_timeout=self.timeout,
            )
            for spec in missing:
                try:
                    futures[spec.name].result(timeout=self.timeout * 2)
                    report.created.append(spec.name)
                except KafkaException as exc:
                    error = exc.args[0]
                    if error.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                        msg = f"creating topic {spec.name!r} failed: {error.str()}"
                        raise TopicAdminError(msg) from exc
                    # Created by someone else since the metadata was read (a racing
                    # ensure, or a topic too new for this broker's metadata): it exists,
                    # and its settings are compared like any existing topic's.
                    existing.append(spec)
            if len(existing) > len(specs) - len(missing):
                present = self._metadata_with([spec.name for spec in existing])
        report.existing.extend(spec.name for spec in existing)
        differences = self._differences(existing, present)
        if apply_configs:
            configs = [d for d in differences if d.setting not in STRUCTURE]
            self._alter_configs(configs)
            report.altered.extend(configs)
            differences = [d for d in differences if d.setting in STRUCTURE]
        report.differences.extend(differences)
        return report

    def _alter_configs(self, differences: Sequence[TopicDifference]) -> None:
        """Set each differing entry, leaving every other entry of the topic as it is."""
        wanted: dict[str, list[ConfigEntry]] = {}
        for diff in differences:
            entry = ConfigEntry(
                diff.setting, diff.wanted, incremental_operation=AlterConfigOpType.SET
            )
            wanted.setdefault(diff.topic, []).append(entry)
        if not wanted:
            return
        resources = [
            ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=entries)
            for name, entries in wanted.items()
        ]
        futures = self._admin.incremental_alter_configs(resources, request_timeout=self.timeout)
        for resource, future in futures.items():
            try:
                future.result(timeout=self.timeout * 2)
            except KafkaException as exc:
                msg = f"changing the settings of topic {resource.name!r} failed: {exc}"
                raise TopicAdminError(msg) from exc

    def _metadata_with(self, names: Sequence[str]) -> dict[str, object]:
        """The topics' metadata once this broker knows every one of ``names``.

        A topic the controller has just created reaches each broker's metadata a moment
        later; waiting for it is bounded by the client's timeout.
        """
        deadline = time.monotonic() + self.timeout
        while True:
            topics: dict[str, object] = self._metadata().topics  # type: ignore[attr-defined]
            unknown = [name for name in names if name not in topics]
            if not unknown:
                return topics
            if time.monotonic() > deadline:
                msg = (
                    f"topics {unknown} exist, but the broker at {self.bootstrap} does not list them"
                )
                raise TopicAdminError(msg)
            time.sleep(0.1)

    def _differences(
        self, specs: list[TopicSpec], present: dict[str, object]
    ) -> list[TopicDifference]:
        found: list[TopicDifference] = []
        if not specs:
            return found
        for spec in specs:
            partitions = present[spec.name].partitions  # type: ignore[attr-defined]
            if len(partitions) != spec.partitions:
                found.append(
                    TopicDifference(
                        spec.name, "partitions", str(spec.partitions), str(len(partitions))
                    )
                )
            replication = min((len(p.replicas) for p in partitions.values()), default=0)
            if replication != spec.replication:
                found.append(
                    TopicDifference(
                        spec.name, "replication", str(spec.replication), str(replication)
                    )
                )
        resources = [ConfigResource(ConfigResource.Type.TOPIC, spec.name) for spec in specs]
        configs = self._admin.describe_configs(resources, request_timeout=self.timeout)
        for spec, resource in zip(specs, resources, strict=True):
            try:
                entries = configs[resource].result(timeout=self.timeout * 2)
            except KafkaException as exc:
                msg = f"reading the settings of topic {spec.name!r} failed: {exc}"
                raise TopicAdminError(msg) from exc
            for key, wanted in spec.config.items():
                actual = entries[key].value if key in entries else "(unset)"
                if actual != wanted:
                    found.append(TopicDifference(spec.name, key, wanted, str(actual)))
        return found

    # -- reading settings back (`playball privacy bound`) ----------------------------------

    def topic_configs(self, topics: Sequence[str]) -> dict[str, dict[str, str]]:
        """Each topic's effective configuration: its own entries, else the broker's defaults.

        TopicAdminError when a topic does not exist or its settings cannot be read.
        """
        present = self._metadata().topics  # type: ignore[attr-defined]
        missing = [name for name in topics if name not in present]
        if missing:
            msg = f"no such topic on {self.bootstrap}: {', '.join(missing)}"
            raise TopicAdminError(msg)
        resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in topics]
        return dict(zip(topics, self._describe(resources), strict=True))

    def broker_configs(self, key: str) -> dict[int, str]:
        """The value of broker setting ``key`` on every broker of the cluster, by node id."""
        brokers = sorted(self._metadata().brokers)  # type: ignore[attr-defined]
        resources = [ConfigResource(ConfigResource.Type.BROKER, str(node)) for node in brokers]
        return {
            node: entries[key]
            for node, entries in zip(brokers, self._describe(resources), strict=True)
            if key in entries
        }

    def _describe(self, resources: Sequence[ConfigResource]) -> list[dict[str, str]]:
        futures = self._admin.describe_configs(list(resources), request_timeout=self.timeout)
        found: list[dict[str, str]] = []
        for resource in resources:
            try:
                entries = futures[resource].result(timeout=self.timeout * 2)
            except KafkaException as exc:
                msg = f"reading the settings of {resource.name!r} failed: {exc}"
                raise TopicAdminError(msg) from exc
            found.append({k: str(v.value) for k, v in entries.items() if v.value is not None})
        return found
