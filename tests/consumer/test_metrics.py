"""The batch histogram: the same series and bucket rules as prometheus_client's Histogram."""

import pytest
from playball_events.consumer.metrics import LATENCY_BUCKETS, ConsumerMetrics
from prometheus_client import CollectorRegistry, Histogram


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
