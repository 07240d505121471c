"""The life of a long-running loop (the consumer loop, the outbox relay): run until stopped,
back off between failed attempts, and stop promptly, from a signal handler or a thread.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff: ``first`` doubling up to ``limit``.

    With ``rng``, "equal jitter": half the step fixed, half random. The fixed half keeps a
    retry from firing at once; the random half spreads processes that failed together (a
    broker outage) so they do not all return at the same instant.
    """

    first: float
    limit: float
    rng: Callable[[], float] | None = None

    def delay(self, attempt: int) -> float:
        """The pause after ``attempt`` consecutive failures before this one (0, 1, …)."""
        step = min(self.limit, self.first * 2.0 ** min(attempt, 30))
        if self.rng is None:
            return step
        return step / 2 + step / 2 * self.rng()


class Lifecycle:
    """Runs a loop's step until :meth:`stop`, counting consecutive failed attempts."""

    def __init__(self, backoff: Backoff) -> None:
        self.backoff = backoff
        self._stopping = threading.Event()
        self._failures = 0

    def stop(self) -> None:
        """Let the step in hand finish, then return from :meth:`run`; ends a pause at once."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self, step: Callable[[], object], finish: Callable[[], None]) -> None:
        """Call ``step`` until stopped, then ``finish``, whatever happened."""
        try:
            while not self._stopping.is_set():
                step()
        finally:
            finish()

    def failed(self) -> float:
        """Count a failed attempt; the pause due before the next one."""
        delay = self.backoff.delay(self._failures)
        self._failures += 1
        return delay

    def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or until stopped."""
        self._stopping.wait(seconds)

    def succeeded(self) -> bool:
        """Count a successful attempt; whether it ended a run of failures."""
        recovered = self._failures > 0
        self._failures = 0
        return recovered


class Stoppable:
    """What a loop built on :class:`Lifecycle` offers its process: stop it (SIGTERM), and
    ask whether it is stopping. The loop sets ``_lifecycle`` and defines its own ``run``."""

    _lifecycle: Lifecycle

    def stop(self) -> None:
        """Finish the work in hand (a consumer commits its batch, a relay settles its
        batch and gives back its claims), then return from ``run``."""
        self._lifecycle.stop()

    @property
    def stopping(self) -> bool:
        return self._lifecycle.stopping
