"""At most N password hashes at once: beyond that, refuse at once rather than queue.

argon2id is slow and memory-hungry on purpose (64 MiB and ~0.2 s of CPU per hash at the
defaults). Run on the API's shared thread pool without a bound, a login flood would
occupy every thread and core, and requests that need no hashing (the JWKS that the
groups service depends on, the health check) would wait behind it. A queue would not
help either: every queued login would only answer later. So a hash or a verify takes a
slot without waiting, and when none is free the request is refused with
:class:`HashingBusyError` (the API's 503 ``busy`` with ``Retry-After: 1``).
"""

import os
import threading

from playball_auth.service_layer.errors import HashingBusyError
from playball_auth.service_layer.ports import PasswordHasher


def default_slots() -> int:
    """Two per CPU this process may run on (its affinity, not the machine's count):
    argon2 releases the GIL, and a second hash per core keeps it busy while the request
    of the first does its other, non-hashing work."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return 2 * cpus


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

    def _take_slot(self) -> None:
        if not self._free.acquire(blocking=False):
            raise HashingBusyError("the server is busy hashing passwords; try again shortly")

    def hash(self, password: str) -> str:
        self._take_slot()
        try:
            return self.inner.hash(password)
        finally:
            self._free.release()

    def verify(self, password_hash: str, password: str) -> bool:
        self._take_slot()
        try:
            return self.inner.verify(password_hash, password)
        finally:
            self._free.release()

    def needs_rehash(self, password_hash: str) -> bool:
        return self.inner.needs_rehash(password_hash)
