"""BatchHistogram exposes what prometheus_client's own Histogram would for the same values."""

from hypothesis import given
from hypothesis import strategies as st
from playball_events.batch_histogram import BatchHistogram
from playball_events.outbox.metrics import LATENCY_BUCKETS
from prometheus_client import CollectorRegistry, Histogram, generate_latest

# the bounds themselves, around them and far past the last
VALUES = st.one_of(
    st.sampled_from(LATENCY_BUCKETS),
    st.floats(min_value=0, max_value=100, allow_nan=False),
)


def exposition(registry: CollectorRegistry) -> list[str]:
    """The text a scrape reads, without the creation time only the client's own has."""
    return [
        line for line in generate_latest(registry).decode().splitlines() if "_created" not in line
    ]


@given(st.lists(st.lists(VALUES, max_size=20), max_size=5))
def test_batches_expose_what_a_histogram_observing_each_value_does(
    batches: list[list[float]],
) -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    histogram = Histogram("lat_seconds", "Latency.", buckets=LATENCY_BUCKETS, registry=theirs)
    batched = BatchHistogram("lat_seconds", "Latency.", buckets=LATENCY_BUCKETS, registry=ours)
    for batch in batches:
        for value in batch:
            histogram.observe(value)
        batched.observe_all(batch)

    assert exposition(ours) == exposition(theirs)


def test_a_value_on_a_bound_counts_in_that_bucket() -> None:
    registry = CollectorRegistry()
    batched = BatchHistogram("lat_seconds", "Latency.", buckets=(0.01, 0.1), registry=registry)
    batched.observe_all([0.01, 0.1, 0.2])
    read = registry.get_sample_value
    assert read("lat_seconds_bucket", {"le": "0.01"}) == 1
    assert read("lat_seconds_bucket", {"le": "0.1"}) == 2
    assert read("lat_seconds_bucket", {"le": "+Inf"}) == 3
    assert read("lat_seconds_count") == 3
    assert read("lat_seconds_sum") == 0.31
