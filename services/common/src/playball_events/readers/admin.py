"""The readers topic as tooling sees it (``playball readers``, the consumer-aware gate).

Settings from the environment as every tool reads them: run by hand, the client is the
stack's admin principal (the consumer's principal may only write the topic).
"""

from collections.abc import Sequence
from typing import Any

from playball_events.kafka_security import kafka_security
from playball_events.readers.readers_kafka import (
    read_readers,
    records_json,
    write_tombstones,
)
from playball_events.settings import RuntimeSettings, load_settings


def reader_set(topic: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The readers topic's name and its readers as JSON-able data, one per instance."""
    settings = load_settings(RuntimeSettings)
    name = topic or settings.readers_topic
    with settings.registry_client() as registry:
        stored = read_readers(
            settings.kafka_bootstrap, name, registry, security=kafka_security(settings)
        )
    return name, records_json(stored)


def tombstone(keys: Sequence[str], topic: str | None = None) -> str:
    """Write a tombstone for each key; the topic's name."""
    settings = load_settings(RuntimeSettings)
    name = topic or settings.readers_topic
    write_tombstones(settings.kafka_bootstrap, name, keys, security=kafka_security(settings))
    return name
