"""A consumer's reader reporter, built from its settings: what a service's bootstrap calls."""

from collections.abc import Callable, Iterable

from playball_events.kafka_security import kafka_security
from playball_events.readers.heartbeat import ReaderHeartbeat, utc_now
from playball_events.readers.identity import ReaderClass, new_identity
from playball_events.readers.readers_kafka import KafkaReaderSink
from playball_events.readers.reporter import ReaderReporter
from playball_events.settings import RuntimeSettings


def reader_reporter(
    settings: RuntimeSettings,
    *,
    service: str,
    distribution: str,
    consumer_group: str,
    topic: str,
    classes: Iterable[type[ReaderClass]],
    on_outcome: Callable[[bool], None],
) -> ReaderReporter:
    """Publishes on ``settings.readers_topic`` as the consumer's own principal; the
    registry client is its own, closed with the reporter's producer."""
    identity = new_identity(
        service=service,
        distribution=distribution,
        consumer_group=consumer_group,
        topic=topic,
        classes=classes,
        now=utc_now(),
    )
    registry = settings.registry_client()
    sink = KafkaReaderSink(
        settings.kafka_bootstrap,
        settings.readers_topic,
        registry,
        security=kafka_security(settings),
        on_close=registry.close,
    )
    return ReaderReporter(ReaderHeartbeat(identity, sink, on_outcome=on_outcome), sink)
