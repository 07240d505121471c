"""ReadAhead: the log read on a reader thread, handed to the relay in order, with the
connection used by one thread at a time (confirmations go through the reader)."""

import threading
import time

import pytest
from playball_events.outbox.ports import (
    CapturedBatch,
    ChangeStream,
    OutboxEvent,
    StoreUnavailableError,
)
from playball_events.outbox.read_ahead import ReadAhead
from support.stack_env import wait_for
from unit.test_pgoutput import an_event

DEADLINE = 10.0


class ScriptedStream(ChangeStream):
    """Batches (or failures) in turn, then nothing; fails the test if two threads ever use
    it at once, as they must not use one libpq connection."""

    def __init__(self, script: list[CapturedBatch | Exception], idle_position: int = 0) -> None:
        self.script = list(script)
        self.idle_position = idle_position
        self.confirmed: list[tuple[int, str]] = []  # position, the thread that sent it
        self.reads = 0
        self.opens = 0
        self.closed = False
        self._busy = threading.Lock()

    def _enter(self) -> None:
        assert self._busy.acquire(blocking=False), "the stream was used by two threads at once"

    def open(self) -> bool:
        self.opens += 1
        self.closed = False
        return False

    def read(self, max_events: int, timeout: float) -> CapturedBatch:
        self._enter()
        try:
            self.reads += 1
            if self.script:
                taken = self.script.pop(0)
                if isinstance(taken, Exception):
                    raise taken
                assert len(taken.events) <= max_events
                return taken
            time.sleep(min(timeout, 0.002))
            return CapturedBatch([], self.idle_position, 0.0)
        finally:
            self._busy.release()

    def confirm(self, position: int) -> None:
        self._enter()
        try:
            self.confirmed.append((position, threading.current_thread().name))
        finally:
            self._busy.release()

    def close(self) -> None:
        self.closed = True


def batch(position: int, *seqs: int) -> CapturedBatch:
    events: list[OutboxEvent] = [an_event(seq=seq) for seq in seqs]
    return CapturedBatch(events, position, 0.5, [position] * len(seqs))


def test_batches_come_out_in_the_order_they_were_read() -> None:
    inner = ScriptedStream([batch(100, 1, 2), batch(200, 3), batch(300, 4, 5)], idle_position=300)
    stream = ReadAhead(inner, slice_=0.01)
    stream.open()

    taken = [stream.read(10, DEADLINE) for _ in range(3)]

    assert [(b.position, [e.seq for e in b.events]) for b in taken] == [
        (100, [1, 2]),
        (200, [3]),
        (300, [4, 5]),
    ]
    assert taken[0].xids == [100, 100]
    stream.close()
    assert inner.closed


def test_an_empty_read_reports_the_idle_position_only_once_every_batch_before_is_taken() -> None:
    inner = ScriptedStream([batch(100, 1), batch(200, 2)], idle_position=250)
    stream = ReadAhead(inner, slice_=0.01)
    stream.open()
    assert stream.read(10, DEADLINE).position == 100  # the reader starts at the first read
    wait_for(lambda: inner.reads >= 4, "the reader went idle past the second batch", DEADLINE)

    # read before the idle reads: the second batch comes first, however short the wait
    assert stream.read(10, 0.0).position == 200
    empty = stream.read(10, 0.0)
    assert (empty.events, empty.position) == ([], 250)
    stream.close()


def test_confirmations_reach_the_stream_from_the_reader_then_from_close() -> None:
    inner = ScriptedStream([batch(100, 1), batch(200, 2)], idle_position=200)
    stream = ReadAhead(inner, slice_=0.01)
    stream.open()
    stream.read(10, DEADLINE)
    stream.confirm(100)
    wait_for(lambda: len(inner.confirmed) == 1, "the reader sent the confirmation", DEADLINE)
    assert inner.confirmed == [(100, "outbox-read")]

    stream.read(10, DEADLINE)
    stream.confirm(200)
    stream.confirm(150)  # a position never goes back
    stream.close()  # the reader stopped: close sends what is left

    assert [position for position, _ in inner.confirmed] == [100, 200]  # each once, in order
    assert inner.closed


def test_a_failure_comes_after_the_batches_read_before_it_and_stops_the_reader() -> None:
    lost = StoreUnavailableError("the replication stream ended")
    inner = ScriptedStream([batch(100, 1), lost, batch(200, 2)])
    stream = ReadAhead(inner, slice_=0.01)
    stream.open()

    assert stream.read(10, DEADLINE).position == 100
    with pytest.raises(StoreUnavailableError, match="ended"):
        stream.read(10, DEADLINE)
    assert inner.reads == 2  # the reader ended with the failure: nothing read past it

    stream.close()
    stream.open()  # a new session: read again, on a new reader
    assert stream.read(10, DEADLINE).position == 200
    assert inner.opens == 2
    stream.close()


def test_a_confirmation_that_fails_at_close_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(ScriptedStream):
        def confirm(self, position: int) -> None:
            raise StoreUnavailableError(f"server closed the connection confirming {position}")

    inner = Broken([], idle_position=0)
    stream = ReadAhead(inner, slice_=0.01)
    stream.open()
    stream.confirm(100)
    stream.close()

    assert inner.closed
    assert "last confirmation not sent" in caplog.text
