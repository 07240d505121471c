"""Counts of the last few seconds and their sum, for the relay's and the consumer's
per-second gauges.

The sum is kept as counts come and go rather than summed when read: the gauges are
updated on every batch (and the consumer's on every poll), and at a low rate a batch is
one event, so a window of 10 s holds thousands of counts.
"""

from collections import deque


class RecentCounts:
    def __init__(self, window: float) -> None:
        self.window = window
        self.total = 0  # of the counts still in the window
        self._counts: deque[tuple[float, int]] = deque()

    def add(self, now: float, count: int) -> None:
        """Count ``count`` at ``now`` (monotonic seconds), and forget what is too old."""
        self._counts.append((now, count))
        self.total += count
        self.forget_before(now)

    def forget_before(self, now: float) -> None:
        """Drop the counts older than the window ending at ``now``."""
        while self._counts and self._counts[0][0] < now - self.window:
            self.total -= self._counts.popleft()[1]

    def age(self, now: float) -> float:
        """Seconds from the oldest count still in the window to ``now``; 0 if none is."""
        return now - self._counts[0][0] if self._counts else 0.0
