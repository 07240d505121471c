"""The consumer's Prometheus metrics (``playball_consumer_*``), one registry per consumer.

Served on 127.0.0.1:``PLAYBALL_CONSUMER_METRICS_PORT`` by :func:`serve_metrics`. Each
consumer gets its own :class:`CollectorRegistry`, so tests and benchmarks can run several
in one process.
"""

import datetime as dt
import math
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

from playball_events.consumer.ports import ApplyOutcome, DeadLetter
from playball_events.metrics_http import serve_metrics_and_health
from playball_events.recent_counts import RecentCounts

DEFAULT_METRICS_PORT = 18281
RATE_WINDOW = 10.0  # seconds the applied-per-second gauge averages over

# occurred_at -> applied spans commit wait, relay delay and consumer lag: ms to minutes
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class BatchHistogram(Collector):
    """A one-series Prometheus histogram that takes a whole batch of observations at once.

    ``Histogram.observe`` costs a few microseconds of locking and bucket search per call,
    a visible share of the consumer's per-event budget; here a batch's observations are
    bucketed with ``bisect`` and added in one pass. The loop is the only writer; a scrape
    running meanwhile may see a batch half counted, never a count going down.
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labels: dict[str, str],
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._label_names = list(labels)
        self._label_values = list(labels.values())
        self._bounds = [*buckets, math.inf]
        self._counts = [0] * len(self._bounds)  # per bucket, not cumulative
        self._sum = 0.0
        registry.register(self)

    def observe_many(self, values: Sequence[float]) -> None:
        bounds, counts = self._bounds, self._counts
        for value in values:
            # bisect_left: a value equal to a bound belongs to that bucket (le = "<=")
            counts[bisect_left(bounds, value)] += 1
        self._sum += sum(values)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self._name, self._documentation, labels=self._label_names)
        cumulative = 0
        buckets: list[tuple[str, float]] = []
        for bound, count in zip(self._bounds, self._counts, strict=True):
            cumulative += count
            le = "+Inf" if bound == math.inf else str(bound)
            buckets.append((le, cumulative))
        family.add_metric(self._label_values, buckets, self._sum)
        yield family


class ConsumerMetrics:
    def __init__(
        self,
        topic: str,
        registry: CollectorRegistry | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._monotonic = monotonic
        self.registry = registry if registry is not None else CollectorRegistry()
        self._topic = topic
        labels = ["topic"]

        def counter(name: str, doc: str, extra: Sequence[str] = ()) -> Counter:
            return Counter(name, doc, [*labels, *extra], registry=self.registry)

        self.lag = Gauge(
            "playball_consumer_lag",
            "Messages behind the end of the assigned partitions",
            labels,
            registry=self.registry,
        )
        self.applied_total = counter(
            "playball_consumer_applied_events", "Events applied to the view"
        )
        self.applied_rate = Gauge(
            "playball_consumer_applied_per_second",
            f"Events applied per second, averaged over the last {RATE_WINDOW:.0f} s",
            labels,
            registry=self.registry,
        )
        self.duplicates_total = counter(
            "playball_consumer_duplicates_skipped", "Events skipped: event id already processed"
        )
        self.stale_total = counter(
            "playball_consumer_stale_skipped",
            "Events skipped: older than the view's version, or for a deleted user",
        )
        self.dead_lettered_total = counter(
            "playball_consumer_dead_lettered", "Messages parked on the dead-letter topic", ["kind"]
        )
        self.dlq_stubs_total = counter(
            "playball_consumer_dlq_stubs",
            "Parked messages too large for the dead-letter topic, parked as stubs (no value)",
        )
        self.poison_held = Gauge(
            "playball_consumer_poison_held",
            "Poison messages in open runs: not parked, not committed past, until a good "
            "message follows them (or the consumer stops at the limit)",
            labels,
            registry=self.registry,
        )
        self.unhandled_total = counter(
            "playball_consumer_unhandled_skipped",
            "Valid records of a type this consumer does not handle",
            ["record_type"],
        )
        self.retries_total = counter(
            "playball_consumer_batch_retries", "Batches rewound because a dependency failed"
        )
        self.commit_failures_total = counter(
            "playball_consumer_commit_failures", "Offset commits that failed after the apply"
        )
        self.latency = BatchHistogram(
            "playball_consumer_apply_latency_seconds",
            "From the event's occurred_at to its commit in the view",
            {"topic": topic},
            LATENCY_BUCKETS,
            self.registry,
        )
        self.last_poll = Gauge(
            "playball_consumer_last_poll_timestamp_seconds",
            "When the loop last polled Kafka (liveness)",
            labels,
            registry=self.registry,
        )
        self.reader_record_published = Gauge(
            "playball_consumer_reader_record_published",
            "1 when this instance's reader record was last published, 0 while publishing "
            "fails (the consumer keeps consuming and retries)",
            labels,
            registry=self.registry,
        )
        self._applied = RecentCounts(RATE_WINDOW)

    def _labels(self, **extra: str) -> dict[str, Any]:
        return {"topic": self._topic, **extra}

    def polled(self, lag: int | None) -> None:
        self.last_poll.labels(**self._labels()).set_to_current_time()
        if lag is not None:
            self.lag.labels(**self._labels()).set(lag)
        self._update_rate(0)

    def batch_done(
        self, outcome: ApplyOutcome[Any], dead: Sequence[DeadLetter], now: dt.datetime
    ) -> None:
        labels = self._labels()
        self.applied_total.labels(**labels).inc(len(outcome.applied))
        self.duplicates_total.labels(**labels).inc(len(outcome.duplicates))
        self.stale_total.labels(**labels).inc(len(outcome.stale))
        for letter in dead:
            self.dead_lettered_total.labels(**self._labels(kind=letter.kind)).inc()
        if outcome.applied:
            # one subtraction per event, in POSIX seconds; clock skew never goes negative
            at = now.timestamp()
            self.latency.observe_many(
                [max(0.0, at - event.record.occurred_at.timestamp()) for event in outcome.applied]
            )
        self._update_rate(len(outcome.applied))

    def stubbed(self, count: int) -> None:
        if count:
            self.dlq_stubs_total.labels(**self._labels()).inc(count)

    def held(self, count: int) -> None:
        self.poison_held.labels(**self._labels()).set(count)

    def unhandled(self, record_type: str) -> None:
        self.unhandled_total.labels(**self._labels(record_type=record_type)).inc()

    def reader_published(self, published: bool) -> None:
        self.reader_record_published.labels(topic=self._topic).set(1 if published else 0)

    def retried(self) -> None:
        self.retries_total.labels(**self._labels()).inc()

    def commit_failed(self) -> None:
        self.commit_failures_total.labels(**self._labels()).inc()

    def _update_rate(self, applied: int) -> None:
        now = self._monotonic()
        self._applied.add(now, applied)
        span = max(self._applied.age(now), 1.0)
        self.applied_rate.labels(**self._labels()).set(self._applied.total / span)

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0 when absent): for tests and the benchmark."""
        found = self.registry.get_sample_value(name, self._labels(**labels))
        return 0.0 if found is None else found


def serve_metrics(metrics: ConsumerMetrics, port: int, host: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` and ``/healthz`` (this start's nonce, for the supervisor) in a
    daemon thread; bind to loopback only."""
    serve_metrics_and_health(metrics.registry, port, host)
