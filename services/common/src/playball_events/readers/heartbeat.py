"""When a consumer instance writes its reader record: pure, driven by a clock.

At start, then a heartbeat refreshing ``last_seen`` once per ``interval`` (at most once a
minute by default, so a compacted topic of a few hundred instances stays tiny); after a
failure, again ``retry`` seconds later, never giving up. A clean stop writes
``stopped_at``. The outcome of every attempt goes to ``on_outcome`` (the gauge
``playball_consumer_reader_record_published``: 1 published, 0 failing).
"""

import datetime as dt
import logging
import time
from collections.abc import Callable

from playball_events.readers.identity import ReaderIdentity
from playball_events.readers.ports import ReaderPublishError, ReaderSink

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 60.0
RETRY_SECONDS = 5.0


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ReaderHeartbeat:
    def __init__(
        self,
        identity: ReaderIdentity,
        sink: ReaderSink,
        *,
        on_outcome: Callable[[bool], None] = lambda _ok: None,
        interval: float = HEARTBEAT_SECONDS,
        retry: float = RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.identity = identity
        self._sink = sink
        self._on_outcome = on_outcome
        self._interval = interval
        self._retry = retry
        self._clock = clock
        self._wall = wall
        self._next_due = clock()  # the first record is due at once

    def seconds_until_due(self) -> float:
        return max(0.0, self._next_due - self._clock())

    def tick(self) -> bool:
        """Publish when due; True when a record was published by this call."""
        if self._clock() < self._next_due:
            return False
        published = self._publish(stopped_at=None)
        self._next_due = self._clock() + (self._interval if published else self._retry)
        return published

    def stop(self) -> bool:
        """Write ``stopped_at`` (one attempt: the process is ending)."""
        return self._publish(stopped_at=self._wall())

    def _publish(self, *, stopped_at: dt.datetime | None) -> bool:
        now = self._wall() if stopped_at is None else stopped_at
        record = self.identity.record(last_seen=now, stopped_at=stopped_at)
        try:
            self._sink.publish(self.identity.key, record)
        except ReaderPublishError as exc:
            log.warning(
                "reader record %s not published (retried in %.0f s): %s",
                self.identity.key,
                self._retry,
                exc,
            )
            self._on_outcome(False)
            return False
        self._on_outcome(True)
        return True
