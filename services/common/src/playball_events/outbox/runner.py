"""Compose a relay from settings and run it until SIGTERM/SIGINT.

The capture is chosen first (:func:`choose_capture`): log-based (``wal``) where the
database allows it, else polling, with a warning saying why.

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
from typing import TYPE_CHECKING

from playball_core.exits import ConfigurationError

from playball_events.gc_tuning import RELAY_YOUNG_GENERATION, tune_for_service
from playball_events.kafka_security import kafka_security
from playball_events.outbox.metrics import RelayMetrics, serve_metrics
from playball_events.outbox.ports import OutboxStore, StoreUnavailableError, Wakeup
from playball_events.outbox.producer_kafka import KafkaEventPublisher
from playball_events.outbox.relay import OutboxRelay
from playball_events.outbox.relay_settings import RelaySettings
from playball_events.outbox.schema_ids import SchemaHeaders
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.outbox.store_postgres_sql import PostgresOutboxStore
from playball_events.outbox.views import BesideTheLog
from playball_events.outbox.wakeup import PollWakeup
from playball_events.outbox.wakeup_sql import ListenWakeup
from playball_events.roll_markers import RollMarking

if TYPE_CHECKING:  # imported where the relay captures from the log: a poll relay skips them
    from playball_events.outbox.wal_relay import WalOutboxRelay

log = logging.getLogger(__name__)


def new_relay_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def choose_capture(settings: RelaySettings, database_url: str) -> str:
    """``wal`` or ``poll``: the one asked for, or else the best this database allows.

    Raises :class:`ConfigurationError` when ``wal`` is asked for and cannot run.
    """
    asked = settings.relay_capture
    if database_url.startswith("sqlite"):
        if asked == "wal":
            msg = "--capture wal needs PostgreSQL: a SQLite outbox is always polled"
            raise ConfigurationError(msg)
        return "poll"
    if asked == "poll":
        return "poll"  # nothing to find out, and nothing of log-based capture to import
    from playball_events.outbox.capture_wal_sql import capture_unavailable  # noqa: PLC0415

    try:
        reason = capture_unavailable(database_url)
    except StoreUnavailableError as exc:
        if asked is not None:
            return asked  # the relay waits for the database like after any outage
        log.warning(
            "polling the outbox: the database did not answer (%s) to say whether "
            "it allows log-based capture; restart the relay to try again",
            exc,
        )
        return "poll"
    if reason is None:
        return asked or "wal"
    if asked == "wal":
        msg = f"--capture wal: log-based capture cannot run here: {reason}"
        raise ConfigurationError(msg)
    if asked is None:
        log.warning("polling the outbox: log-based capture is unavailable: %s", reason)
    return "poll"


def build_relay(
    settings: RelaySettings,
    database_url: str,
    *,
    metrics: RelayMetrics | None = None,
    capture: str = "poll",
) -> "OutboxRelay | WalOutboxRelay":
    metrics = metrics or RelayMetrics()
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
    headers = SchemaHeaders(settings.registry_client())

    def polling(view: OutboxStore, wakeup: Wakeup) -> OutboxRelay:
        return OutboxRelay(
            view,
            publisher,
            headers,
            wakeup,
            relay_id=new_relay_id(),
            config=settings.relay_config(),
            metrics=metrics,
            marking=marking,
        )

    if not isinstance(store, PostgresOutboxStore):
        return polling(store, PollWakeup())
    from playball_events.outbox.capture_wal_sql import (  # noqa: PLC0415
        PgSlotMonitor,
        WalChangeStream,
    )

    slots = PgSlotMonitor(database_url, settings.slot_for(database_url))
    if capture == "wal":
        from playball_events.outbox.wal_relay import WalOutboxRelay  # noqa: PLC0415

        return WalOutboxRelay(
            WalChangeStream(database_url, slot=settings.slot_for(database_url)),
            store,
            slots,
            publisher,
            headers,
            relay_id=new_relay_id(),
            config=settings.wal_config(),
            metrics=metrics,
            marking=marking,
        )
    # beside a log-based relay on the same database (while moving from one capture to the
    # other, say), claim nothing until its slot is no longer streamed: a standby meanwhile
    return polling(
        BesideTheLog(store, slots, on_standby=metrics.record_standby), ListenWakeup(database_url)
    )


def run_relay(settings: RelaySettings, database_url: str) -> None:
    """Run in the foreground; returns after a SIGTERM/SIGINT once the claims are released.

    Raises :class:`ConfigurationError` for a capture that cannot run here, and
    :class:`~.ports.SlotLostError` when log-based capture finds its slot lost.
    """
    capture = choose_capture(settings, database_url)
    metrics = RelayMetrics()
    if settings.relay_metrics_port:
        serve_metrics(metrics, settings.relay_metrics_port)
    relay = build_relay(settings, database_url, metrics=metrics, capture=capture)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the batch in flight", signum)
        relay.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tune_for_service(RELAY_YOUNG_GENERATION)
    relay.run()
