"""The batch histogram: the same series and bucket rules as prometheus_client's Histogram;
the applied-per-second gauge over its window."""

import datetime as dt
import uuid

import pytest
from playball_events.consumer.metrics import LATENCY_BUCKETS, RATE_WINDOW, ConsumerMetrics
from playball_events.consumer.ports import ApplyOutcome, ConsumedEvent, RawMessage
from prometheus_client import CollectorRegistry, Histogram
from support.user_events import UserEvent, registered


def test_a_batch_histogram_matches_observing_one_by_one() -> None:
    values = [0.0, 0.005, 0.0051, 0.3, 1.0, 59.9, 100.0]
    metrics = ConsumerMetrics("t")
    metrics.latency.observe_many(values[:3])
    metrics.latency.observe_many(values[3:])
    reference = CollectorRegistry()
    histogram = Histogram(
        "playball_consumer_apply_latency_seconds",
        "reference",
        ["topic"],
        buckets=LATENCY_BUCKETS,
        registry=reference,
    ).labels(topic="t")
    for value in values:
        histogram.observe(value)
    name = "playball_consumer_apply_latency_seconds"
    for le in [*map(str, LATENCY_BUCKETS), "+Inf"]:
        labels = {"topic": "t", "le": le}
        assert metrics.registry.get_sample_value(f"{name}_bucket", labels) == (
            reference.get_sample_value(f"{name}_bucket", labels)
        ), le
    assert metrics.value(f"{name}_count") == reference.get_sample_value(
        f"{name}_count", {"topic": "t"}
    )
    # summed per batch, not one by one: equal up to float rounding
    assert metrics.value(f"{name}_sum") == pytest.approx(
        reference.get_sample_value(f"{name}_sum", {"topic": "t"})
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def applied(count: int) -> ApplyOutcome[UserEvent]:
    return ApplyOutcome(
        applied=[
            ConsumedEvent(registered(uuid.uuid4()), RawMessage("t", 0, n, None, None))
            for n in range(count)
        ]
    )


def test_the_applied_rate_counts_the_window_and_forgets_what_left_it() -> None:
    clock = Clock()
    metrics = ConsumerMetrics("t", monotonic=clock)
    rate = "playball_consumer_applied_per_second"
    now = dt.datetime.now(dt.UTC)

    metrics.batch_done(applied(30), [], now)
    clock.now += RATE_WINDOW / 2
    metrics.batch_done(applied(70), [], now)
    assert metrics.value(rate) == 100 / (RATE_WINDOW / 2)  # over the window's span so far

    clock.now += RATE_WINDOW / 2 + 0.5  # the first batch leaves the window
    metrics.polled(None)  # a poll that brought nothing moves the window too
    assert metrics.value(rate) == 70 / (RATE_WINDOW / 2 + 0.5)

    clock.now += 2 * RATE_WINDOW
    metrics.polled(None)
    assert metrics.value(rate) == 0.0
