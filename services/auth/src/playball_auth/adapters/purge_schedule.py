"""When to delete expired rows: now and then, by whichever request comes by.

Old throttle state and expired refresh tokens are deleted by the requests that write
such rows, at most once per interval per process, rather than by a job of their own
(one less process to run) or on every request (a needless DELETE per login).
"""

import threading
from datetime import datetime, timedelta


class PurgeSchedule:
    def __init__(self, interval: timedelta) -> None:
        self.interval = interval
        self._next: datetime | None = None
        self._lock = threading.Lock()

    def due(self, now: datetime) -> bool:
        """True at most once per interval: the caller purges then."""
        with self._lock:
            if self._next is not None and now < self._next:
                return False
            self._next = now + self.interval
            return True
