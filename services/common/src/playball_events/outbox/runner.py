"""Compose a relay from settings and run it until SIGTERM/SIGINT.

SIGTERM finishes the batch in flight (its reports are awaited and its acks recorded),
flushes the producer and releases the claims, so a restart or another relay carries on
at once instead of waiting for leases to expire.
"""

import logging
import os
import signal
import socket
import uuid
from types import FrameType

from playball_events.gc_tuning import tune_for_service
from playball_events.kafka_security import kafka_security
from playball_events.outbox.metrics import RelayMetrics, serve_metrics
from playball_events.outbox.producer_kafka import KafkaEventPublisher
from playball_events.outbox.relay import OutboxRelay
from playball_events.outbox.relay_settings import RelaySettings
from playball_events.outbox.schema_ids import SchemaHeaders
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.outbox.store_postgres_sql import PostgresOutboxStore
from playball_events.outbox.wakeup import PollWakeup
from playball_events.outbox.wakeup_sql import ListenWakeup
from playball_events.roll_markers import RollMarking

log = logging.getLogger(__name__)


def new_relay_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def build_relay(
    settings: RelaySettings, database_url: str, *, metrics: RelayMetrics | None = None
) -> OutboxRelay:
    store = open_outbox_store(database_url, for_relay=True)
    publisher = KafkaEventPublisher(
        settings.kafka_bootstrap,
        delivery_timeout_ms=settings.relay_delivery_timeout_ms,
        security=kafka_security(settings),
    )
    publisher.check_credentials()
    # every partition of its topics gets a marker each segment.ms / 2, so a quiet one rolls
    marking = RollMarking(
        publisher.roll_markers(settings.roll_topics()), settings.marker_interval_seconds()
    )
    return OutboxRelay(
        store,
        publisher,
        SchemaHeaders(settings.registry_client()),
        ListenWakeup(database_url) if isinstance(store, PostgresOutboxStore) else PollWakeup(),
        relay_id=new_relay_id(),
        config=settings.relay_config(),
        metrics=metrics,
        marking=marking,
    )


def run_relay(settings: RelaySettings, database_url: str) -> None:
    """Run in the foreground; returns after a SIGTERM/SIGINT once the claims are released."""
    metrics = RelayMetrics()
    if settings.relay_metrics_port:
        serve_metrics(metrics, settings.relay_metrics_port)
    relay = build_relay(settings, database_url, metrics=metrics)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the batch in flight", signum)
        relay.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tune_for_service()
    relay.run()
