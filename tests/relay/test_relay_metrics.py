"""The relay's delivered-per-second gauge: the acks of the last RATE_WINDOW seconds."""

from playball_events.outbox.metrics import RATE_WINDOW, RelayMetrics


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def rate(metrics: RelayMetrics) -> float:
    return float(metrics.delivered_rate._value.get())


def test_the_delivered_rate_counts_the_acks_of_the_window_and_forgets_older_ones() -> None:
    clock = Clock()
    metrics = RelayMetrics(monotonic=clock)

    metrics.record_delivered(30, [])
    clock.now += RATE_WINDOW / 2
    metrics.record_delivered(70, [])
    assert rate(metrics) == 100 / RATE_WINDOW

    clock.now += RATE_WINDOW / 2 + 0.001  # the first batch's acks leave the window
    metrics.record_delivered(5, [])
    assert rate(metrics) == 75 / RATE_WINDOW

    # one event per batch, as at a low rate: a window's worth, then all of it forgotten
    clock.now += 1.0  # past the last ack's window by the loop's end
    for _ in range(1000):
        clock.now += RATE_WINDOW / 1000
        metrics.record_delivered(1, [])
    assert rate(metrics) == 1000 / RATE_WINDOW
    clock.now += 2 * RATE_WINDOW
    metrics.record_delivered(0, [])
    assert rate(metrics) == 0.0
    assert metrics.delivered._value.get() == 1105
