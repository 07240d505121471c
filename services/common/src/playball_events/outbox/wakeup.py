"""Wake-up without a database signal: the fallback poll (SQLite, tests)."""

import threading

from playball_events.outbox.ports import Wakeup


class PollWakeup(Wakeup):
    """Waits the poll interval, or until :meth:`interrupt` (from this process)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def interrupt(self) -> None:
        self._event.set()

    def wait(self, timeout: float) -> bool:
        signalled = self._event.wait(timeout)
        self._event.clear()
        return signalled

    def close(self) -> None:
        self._event.set()
