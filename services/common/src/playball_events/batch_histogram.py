"""A Prometheus histogram observed a batch of values at a time.

prometheus_client's ``Histogram.observe`` walks its buckets in Python and takes a lock per
value: 0.65 µs each, which the relay paid for every acked event (its flush-to-ack
latency). Here a batch costs one lock, and each value a binary search in C (0.15 µs).
It is exposed through the client's public collector interface, under the same name,
type and samples as a ``Histogram`` (``_bucket``, ``_count``, ``_sum``).
"""

import math
import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector


class BatchHistogram(Collector):
    def __init__(
        self,
        name: str,
        documentation: str,
        *,
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        bounds = sorted(float(b) for b in buckets)
        if not bounds or bounds[-1] != math.inf:
            bounds.append(math.inf)
        self.name = name
        self.documentation = documentation
        self._bounds = bounds
        self._counts = [0] * len(bounds)  # per bucket, not cumulative
        self._sum = 0.0
        self._lock = threading.Lock()
        registry.register(self)

    def observe_all(self, values: Iterable[float]) -> None:
        """Observe each of ``values``; a value lands in the first bucket whose upper
        bound is at least the value (Prometheus' ``le``). Summed one value at a time, in
        order, as the client's histogram sums: the same floating-point total."""
        bounds, counts = self._bounds, self._counts
        with self._lock:
            total = self._sum
            for value in values:
                counts[bisect_left(bounds, value)] += 1
                total += value
            self._sum = total

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            counts, total = list(self._counts), self._sum
        cumulative, buckets = 0, []
        for bound, count in zip(self._bounds, counts, strict=True):
            cumulative += count
            buckets.append((_label(bound), cumulative))
        yield HistogramMetricFamily(self.name, self.documentation, buckets=buckets, sum_value=total)


def _label(bound: float) -> str:
    """A bucket's ``le`` as prometheus_client writes it (``+Inf``, ``0.005``, ``1.0``)."""
    return "+Inf" if bound == math.inf else repr(bound)
