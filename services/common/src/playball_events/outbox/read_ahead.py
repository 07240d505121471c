"""Reading the log ahead, on a thread of its own, while the relay sends what it read before.

The log-based relay's loop does everything in turn: read and decode a batch, wait for the
acks of the one before, check the new one against the table, send it. Measured in
``scripts/bench_relay.py``, its thread spent a quarter of a drain waiting: on the
walsender's next bytes, the broker's acks, the check's answer. :class:`ReadAhead` moves
the reading and decoding onto a reader thread that keeps up to two batches ready, so
the relay's waits and the reader's work overlap.

The connection stays the reader's alone (a libpq connection is not safe to share between
threads): the relay's ``confirm`` only records the position, and the reader sends it to
the server before its next read, or ``close`` does once the reader has stopped. Batches
come out in the order they were read, and a failure of the stream (its exception) comes
out after the batches read before it, so the relay sees the same stream, only sooner.
"""

import logging
import queue
import threading
from dataclasses import dataclass

from playball_events.outbox.ports import CapturedBatch, ChangeStream, StoreUnavailableError

log = logging.getLogger(__name__)

SLICE = 0.05  # seconds each read of the reader waits at most: how soon it sees a stop
AHEAD = 2  # batches read and not yet taken, at most


@dataclass(frozen=True, slots=True)
class _Failed:
    error: Exception


class ReadAhead(ChangeStream):
    def __init__(self, stream: ChangeStream, *, ahead: int = AHEAD, slice_: float = SLICE) -> None:
        self.stream = stream
        self._ahead = ahead
        self._slice = slice_
        self._ready: queue.Queue[CapturedBatch | _Failed] = queue.Queue(ahead)
        self._reader: threading.Thread | None = None
        self._stop = threading.Event()
        # what the relay confirmed, for the reader to send; and what it did send
        self._to_confirm = 0
        self._confirmed = 0
        # The position of the last read that brought nothing (a keepalive, the log's end),
        # and that read's lag: what an empty read here reports. Only set after every
        # batch read before it is queued, so no queued batch lies beyond it.
        self._idle: tuple[int, float | None] = (0, None)

    def open(self) -> bool:
        self._halt()
        created = self.stream.open()
        self._ready = queue.Queue(self._ahead)
        self._idle = (self._confirmed, None)
        return created

    def read(self, max_events: int, timeout: float) -> CapturedBatch:
        if self._reader is None:  # started at the first read: it reads max_events at a time
            self._stop.clear()
            self._reader = threading.Thread(
                target=self._read_ahead, args=(max_events,), name="outbox-read", daemon=True
            )
            self._reader.start()
        try:
            taken = self._ready.get(timeout=timeout)
        except queue.Empty:
            position, lag = self._idle
            return CapturedBatch([], position, lag)
        if isinstance(taken, _Failed):
            self._halt()
            raise taken.error
        return taken

    def confirm(self, position: int) -> None:
        self._to_confirm = max(self._to_confirm, position)

    def close(self) -> None:
        """Stop reading; what the relay confirmed meanwhile goes to the server first."""
        self._halt()
        try:
            self._send_confirmation()
        except StoreUnavailableError as exc:  # resent after the reconnect: at least once
            log.warning("outbox relay: last confirmation not sent: %s", exc)
        finally:
            self.stream.close()

    # -- the reader's thread --------------------------------------------------------------

    def _read_ahead(self, max_events: int) -> None:
        while not self._stop.is_set():
            try:
                self._send_confirmation()
                batch = self.stream.read(max_events, self._slice)
            except Exception as exc:
                self._hand_over(_Failed(exc))
                return
            if batch.events:
                self._hand_over(batch)
            else:
                self._idle = (batch.position, batch.lag_seconds)

    def _hand_over(self, taken: CapturedBatch | _Failed) -> None:
        while not self._stop.is_set():
            try:
                self._ready.put(taken, timeout=self._slice)
            except queue.Full:
                continue
            return

    def _send_confirmation(self) -> None:
        position = self._to_confirm
        if position > self._confirmed:
            self.stream.confirm(position)
            self._confirmed = position

    def _halt(self) -> None:
        """Stop the reader (it ends within a slice) and wait for it."""
        reader, self._reader = self._reader, None
        if reader is not None:
            self._stop.set()
            reader.join()
