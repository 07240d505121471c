"""The account routes' worker threads: results, errors and context reach the caller, a
cancelled caller waits for its call, and the threads are reused and bounded."""

import asyncio
import contextvars
import threading

import pytest
from playball_service_kit.worker_threads import WorkerThreads

DEADLINE = 10.0  # seconds: far beyond any wait here; a hang fails instead of blocking
REQUEST = contextvars.ContextVar[str]("request")


def test_the_call_runs_on_another_thread_and_its_result_comes_back() -> None:
    workers = WorkerThreads(name="t")

    async def caller() -> tuple[str, tuple[str, str]]:
        return threading.current_thread().name, await workers.run(_thread_and_sum, 2, 3)

    loop_thread, (call_thread, total) = asyncio.run(caller())
    assert total == "5"
    assert call_thread != loop_thread
    assert call_thread.startswith("t-")


def _thread_and_sum(a: int, b: int) -> tuple[str, str]:
    return threading.current_thread().name, str(a + b)


def test_the_calls_exception_reaches_the_caller() -> None:
    workers = WorkerThreads()
    error = LookupError("no such user")

    def fail() -> None:
        raise error

    async def caller() -> None:
        await workers.run(fail)

    with pytest.raises(LookupError) as raised:
        asyncio.run(caller())
    assert raised.value is error


def test_a_stopiteration_reaches_the_caller_as_a_runtime_error() -> None:
    """A future cannot carry a StopIteration: handed over as it is, the caller would wait
    forever."""
    workers = WorkerThreads()

    async def caller() -> None:
        await asyncio.wait_for(workers.run(next, iter(())), DEADLINE)

    with pytest.raises(RuntimeError, match="StopIteration") as raised:
        asyncio.run(caller())
    assert isinstance(raised.value.__cause__, StopIteration)


def test_the_callers_context_goes_with_the_call_and_stays_its_own() -> None:
    workers = WorkerThreads()

    def read_and_set() -> str:
        seen = REQUEST.get("unset")
        REQUEST.set("changed on the thread")
        return seen

    async def caller(name: str) -> tuple[str, str]:
        REQUEST.set(name)
        seen = await workers.run(read_and_set)
        return seen, REQUEST.get()

    async def both() -> list[tuple[str, str]]:
        return list(await asyncio.gather(caller("first"), caller("second")))

    # each call saw its own caller's value; what the call set stayed on its copy
    assert asyncio.run(both()) == [("first", "first"), ("second", "second")]


def test_a_cancelled_caller_waits_for_its_call_to_finish() -> None:
    """A request's unit of work never outlives the request (as with anyio's pool)."""
    workers = WorkerThreads()
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def slow() -> None:
        started.set()
        release.wait(DEADLINE)
        finished.set()

    async def scenario() -> bool:
        task = asyncio.create_task(workers.run(slow))
        assert await asyncio.to_thread(started.wait, DEADLINE)
        task.cancel()
        # still running: the cancellation waits for the call
        done, _ = await asyncio.wait([task], timeout=0.2)
        assert not done
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, DEADLINE)
        return finished.is_set()

    assert asyncio.run(scenario()), "the cancellation went on before the call finished"


def test_calls_one_after_another_reuse_one_thread() -> None:
    workers = WorkerThreads(max_threads=8)

    async def caller() -> set[str]:
        return {await workers.run(lambda: threading.current_thread().name) for _ in range(20)}

    assert len(asyncio.run(caller())) == 1
    assert workers.started == 1


def test_no_more_threads_than_the_limit_and_the_rest_queue() -> None:
    workers = WorkerThreads(max_threads=2)
    lock = threading.Lock()
    running, most = 0, 0
    release = threading.Event()
    two_running = threading.Barrier(2, timeout=DEADLINE)

    def call() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        if not release.is_set():
            two_running.wait()  # the first two calls meet: both threads are busy
            release.set()
        with lock:
            running -= 1

    async def callers() -> None:
        await asyncio.wait_for(asyncio.gather(*(workers.run(call) for _ in range(6))), DEADLINE)

    asyncio.run(callers())
    assert most == 2
    assert workers.started == 2


def test_the_limit_must_allow_a_thread() -> None:
    with pytest.raises(ValueError, match="max_threads must be 1 or more, not 0"):
        WorkerThreads(max_threads=0)
