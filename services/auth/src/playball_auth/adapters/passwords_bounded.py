"""At most N password hashes at once: beyond that, refuse at once rather than queue.

argon2id is slow and memory-hungry on purpose (64 MiB and ~0.2 s of CPU per hash at the
defaults). Run on the API's shared thread pool without a bound, a login flood would
occupy every thread and core, and requests that need no hashing (the JWKS that the
groups service depends on, the health check) would wait behind it. A queue would not
help either: every queued login would only answer later. So a hash or a verify takes a
slot without waiting, and when none is free the request is refused with
:class:`HashingBusyError` (the API's 503 ``busy`` with ``Retry-After: 1``).

A bound on the number of hashes is not enough on its own: with p=4, each hash runs four
argon2 threads, and the slots' dozen-odd threads would share the cores evenly with the
event loop serving the JWKS, which then waits its turn behind them (a p99 of 150 ms and
more during a flood on two cores). So the hashes run on threads of their own at the
lowest scheduling priority (nice 19): on Linux the nice value is per thread and argon2's
lane threads inherit it from the thread that starts them. The cores stay busy hashing
whenever nothing else needs them, and anything else that does runs first.
"""

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from playball_service_kit.cpus import available_cpus

from playball_auth.service_layer.errors import HashingBusyError
from playball_auth.service_layer.ports import PasswordHasher

log = logging.getLogger(__name__)
T = TypeVar("T")
HASHING_NICE = 19  # the lowest priority: hashing yields to every other request's work


def _lower_priority() -> None:
    """Run this thread (and the threads it starts) at HASHING_NICE."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICE)
    except (OSError, AttributeError) as exc:  # not Linux, or forbidden by the sandbox
        log.warning("password hashing runs at normal priority: %s", exc)


def default_slots() -> int:
    """Two per CPU this process may run on (its affinity, not the machine's count):
    argon2 releases the GIL, and a second hash per core keeps it busy while the request
    of the first does its other, non-hashing work."""
    return 2 * available_cpus()


class BoundedPasswordHasher(PasswordHasher):
    """Runs ``inner``'s hash and verify in one of ``slots`` slots (needs_rehash only
    parses the hash: unbounded)."""

    def __init__(self, inner: PasswordHasher, slots: int) -> None:
        if slots < 1:
            msg = "at least one hashing slot is needed"
            raise ValueError(msg)
        self.inner = inner
        self.slots = slots
        self._free = threading.BoundedSemaphore(slots)
        # one thread per slot: a slot taken always finds its thread idle, never queues
        self._threads = ThreadPoolExecutor(
            slots, thread_name_prefix="argon2", initializer=_lower_priority
        )

    def _in_slot(self, work: Callable[[], T]) -> T:
        if not self._free.acquire(blocking=False):
            raise HashingBusyError("the server is busy hashing passwords; try again shortly")
        try:
            return self._threads.submit(work).result()
        finally:
            self._free.release()

    def hash(self, password: str) -> str:
        return self._in_slot(lambda: self.inner.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        return self._in_slot(lambda: self.inner.verify(password_hash, password))

    def close(self) -> None:
        """Stop the hashing threads (a test's or a process's end)."""
        with contextlib.suppress(RuntimeError):
            self._threads.shutdown(wait=True)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.inner.needs_rehash(password_hash)
