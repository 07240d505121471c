"""Threads for the blocking part of a request (its unit of work), handed over from the
event loop for less than anyio's thread pool costs.

FastAPI's ``run_in_threadpool`` is anyio's ``to_thread.run_sync``. Every call there asks
which async library is running, takes a token from a capacity limiter, enters two cancel
scopes and finds its pool through a run-time variable, and those steps were 7% of the
auth API's CPU per profile change. This was measured in-process, driving the ASGI app
directly in alternating rounds: 1.108 against 1.026 ms per ``PATCH /users/me`` over 16
rounds each, lower in 15 of the 16 pairs.

Here a call is one queue entry. A waiting thread takes it, runs it and settles the
caller's future through the loop's thread-safe callback.

Two things of anyio's ``run_sync`` are kept:

- **The caller's context goes with the call.** Its contextvars are copied, so the
  request's trace context reaches the outbox rows the call writes.
- **A cancelled caller waits for its call to finish** before the cancellation goes on. A
  unit of work never outlives its request, nor the engine, which is disposed at shutdown.

Threads are started on demand, up to ``max_threads``; after that, calls queue. They are
daemon threads: at exit nothing is running on them, because every request has waited
for its call.

**How many.** A use case is mostly Python, which runs on one thread at a time (the GIL),
with short waits for the database between. A few threads keep the GIL busy through those
waits; more only hand it around more often, and each hand-off is a futex wake-up and a
context switch. Measured with ``scripts/bench_auth_api.py``'s servers, 8 clients,
alternating rounds against anyio's pool of 40 (the CPU per update, new / old): 40
threads 0.92, 8 threads 0.91, 4 threads 0.87, 3 threads 0.81. The default is two per
CPU the process may run on, as for password hashing (whose slots a password change
holds a thread through, so fewer threads than slots would queue display-name changes
behind hashes).
"""

import asyncio
import contextlib
import contextvars
import functools
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from playball_service_kit.cpus import available_cpus

T = TypeVar("T")


def default_max_threads() -> int:
    """Two per CPU this process may run on."""
    return 2 * available_cpus()


@dataclass(frozen=True, slots=True)
class _Call(Generic[T]):
    loop: asyncio.AbstractEventLoop
    done: "asyncio.Future[T]"
    context: contextvars.Context
    call: Callable[[], T]

    def run(self, then: Callable[[], None]) -> None:
        """Run the call, ``then`` (before the caller can learn the outcome), settle."""
        try:
            result = self.context.run(self.call)
        except BaseException as exc:
            then()
            self._settle(_fail, exc)
        else:
            then()
            self._settle(_succeed, result)

    def _settle(self, settle: Callable[..., None], outcome: object) -> None:
        # a closed loop raises RuntimeError: nobody waits for the outcome any more
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(settle, self.done, outcome)


def _succeed(done: "asyncio.Future[Any]", result: object) -> None:
    if not done.done():
        done.set_result(result)


def _fail(done: "asyncio.Future[Any]", exc: BaseException) -> None:
    if done.done():
        return
    if isinstance(exc, StopIteration):  # a future refuses one: the caller would never hear
        wrapped = RuntimeError(f"the call raised {exc!r}")
        wrapped.__cause__ = exc
        exc = wrapped
    done.set_exception(exc)


class WorkerThreads:
    """Run blocking calls on up to ``max_threads`` threads, from the event loop."""

    def __init__(self, max_threads: int | None = None, *, name: str = "worker") -> None:
        """``max_threads`` None: :func:`default_max_threads`."""
        if max_threads is None:
            max_threads = default_max_threads()
        if max_threads < 1:
            msg = f"max_threads must be 1 or more, not {max_threads}"
            raise ValueError(msg)
        self._max_threads = max_threads
        self._name = name
        self._calls: queue.SimpleQueue[_Call[Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = 0
        self._idle = 0  # threads waiting for a call that no queued call has claimed yet

    @property
    def started(self) -> int:
        """The threads started so far (they never stop)."""
        return self._started

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)``'s result, computed on a worker thread."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        call = functools.partial(function, *args)
        self._calls.put(_Call(loop, done, contextvars.copy_context(), call))
        self._claim_thread()
        try:
            # shielded: a cancellation must not drop the outcome of a call still running
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            if not done.done():
                await asyncio.wait([done])
            raise

    def _claim_thread(self) -> None:
        """A thread for the call just queued: an idle one, else a new one if the limit
        allows, else the first to finish its call."""
        with self._lock:
            if self._idle:
                self._idle -= 1
                return
            if self._started >= self._max_threads:
                return
            self._started += 1
            number = self._started
        threading.Thread(target=self._work, name=f"{self._name}-{number}", daemon=True).start()

    def _work(self) -> None:
        while True:
            # idle again before the caller hears back: its next call finds this thread
            # rather than starting another
            self._calls.get().run(then=self._now_idle)

    def _now_idle(self) -> None:
        with self._lock:
            self._idle += 1
