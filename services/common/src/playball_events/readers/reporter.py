"""Runs a :class:`ReaderHeartbeat` beside the consumer loop, on a thread of its own.

A thread, not a step of the loop: a batch retrying against a database that is down can
take minutes, and the reader must still be seen (it will come back, reading with the
same schemas). The thread only publishes; it never touches the consumer.
"""

import threading

from playball_events.readers.heartbeat import ReaderHeartbeat
from playball_events.readers.ports import ReaderSink

# Upper bound on one wait, so a stop is noticed promptly even between heartbeats.
WAKE_SECONDS = 1.0


class ReaderReporter:
    def __init__(self, heartbeat: ReaderHeartbeat, sink: ReaderSink) -> None:
        self._heartbeat = heartbeat
        self._sink = sink
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reader-record", daemon=True)

    @property
    def key(self) -> str:
        return self._heartbeat.identity.key

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._heartbeat.tick()
            self._stopping.wait(min(WAKE_SECONDS, self._heartbeat.seconds_until_due()) or 0.05)

    def stop(self) -> None:
        """End the heartbeat, write ``stopped_at``, release the producer."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            self._heartbeat.stop()
        finally:
            self._sink.close()
