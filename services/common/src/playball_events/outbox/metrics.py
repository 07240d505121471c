"""The relay's Prometheus metrics (``playball_outbox_*``), served on 127.0.0.1.

"Oldest unsent age" is the one to alert on: it grows when the relay is stuck, whatever
the reason (broker, registry, database, a parked event blocking nothing else).
"""

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

from playball_events.batch_histogram import BatchHistogram
from playball_events.metrics_http import serve_metrics_and_health
from playball_events.outbox.ports import OutboxStatus, SlotStatus
from playball_events.recent_counts import RecentCounts

# Flush->ack of one batch: a few ms on a healthy local broker, up to the delivery timeout.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
RATE_WINDOW = 10.0  # seconds the delivered-per-second gauge averages over


class RelayMetrics:
    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._monotonic = monotonic
        self.backlog = Gauge(
            "playball_outbox_backlog", "Unsent (pending) outbox rows.", registry=self.registry
        )
        self.oldest_unsent_age = Gauge(
            "playball_outbox_oldest_unsent_age_seconds",
            "Age of the oldest unsent outbox row (0 when none): grows when the relay is stuck.",
            registry=self.registry,
        )
        self.parked = Gauge(
            "playball_outbox_parked", "Parked (undeliverable) outbox rows.", registry=self.registry
        )
        self.delivered = Counter(
            "playball_outbox_delivered", "Events acked by the broker.", registry=self.registry
        )
        self.delivered_rate = Gauge(
            "playball_outbox_delivered_per_second",
            f"Events acked per second over the last {RATE_WINDOW:.0f} s.",
            registry=self.registry,
        )
        self.retries = Counter(
            "playball_outbox_retries",
            "Events given back for another attempt, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.parked_events = Counter(
            "playball_outbox_parked_events", "Events this relay parked.", registry=self.registry
        )
        # observed a batch at a time: a prometheus_client Histogram costs a lock per event
        self.flush_ack_seconds = BatchHistogram(
            "playball_outbox_flush_ack_seconds",
            "Seconds from handing a message to the producer to the broker's ack.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # the log-based relay's slot (pg_replication_slots), refreshed every few seconds
        self.slot_lag_bytes = Gauge(
            "playball_outbox_slot_lag_bytes",
            "WAL written since the slot's confirmed position (log-based capture).",
            registry=self.registry,
        )
        self.slot_lag_seconds = Gauge(
            "playball_outbox_slot_lag_seconds",
            "Age of the last commit the log-based relay read (0 when it is at the log's end).",
            registry=self.registry,
        )
        self.slot_retained_bytes = Gauge(
            "playball_outbox_slot_retained_bytes",
            "WAL the slot holds back on the server's disk (lost past max_slot_wal_keep_size).",
            registry=self.registry,
        )
        self.standby = Gauge(
            "playball_outbox_relay_standby",
            "1 while this relay stands by: a log-based relay waiting for the slot another "
            "streams from, or a polling relay claiming nothing while that slot is streamed.",
            registry=self.registry,
        )
        self._acks = RecentCounts(RATE_WINDOW)

    def record_delivered(self, count: int, latencies: list[float]) -> None:
        self.delivered.inc(count)
        self.flush_ack_seconds.observe_all(latencies)
        now = self._monotonic()
        self._acks.add(now, count)
        self._update_rate(now)

    def _update_rate(self, now: float) -> None:
        self._acks.forget_before(now)
        self.delivered_rate.set(self._acks.total / RATE_WINDOW)

    def record_retries(self, reason: str, count: int) -> None:
        if count:
            self.retries.labels(reason=reason).inc(count)

    def record_parked(self) -> None:
        self.parked_events.inc()

    def record_status(self, status: OutboxStatus) -> None:
        self.backlog.set(status.backlog)
        age = status.oldest_unsent_age
        self.oldest_unsent_age.set(age.total_seconds() if age is not None else 0.0)
        self.parked.set(status.parked_count)
        self._update_rate(self._monotonic())

    def record_slot(self, status: SlotStatus) -> None:
        self.slot_lag_bytes.set(status.lag_bytes or 0)
        self.slot_retained_bytes.set(status.retained_bytes or 0)

    def record_slot_lag_seconds(self, seconds: float) -> None:
        self.slot_lag_seconds.set(seconds)

    def record_standby(self, waiting: bool) -> None:
        self.standby.set(1 if waiting else 0)


def serve_metrics(metrics: RelayMetrics, port: int) -> None:
    """Serve ``/metrics`` and ``/healthz`` (this start's nonce, for the supervisor) on
    127.0.0.1:``port`` from a daemon thread."""
    serve_metrics_and_health(metrics.registry, port)
