"""A small least-recently-used cache whose reads take no lock.

The serde's caches are keyed by what a message names (a schema id, a writer schema), and
whoever can write the topic chooses that: an unbounded dict grows with every id a forger
sends. This one keeps at most ``maxsize`` entries and drops the least recently used.

Reads sit on the consumer's per-message path, so they take no lock: each step is one
OrderedDict operation, atomic under the GIL, and a read that races an eviction answers
"absent", which callers treat as a miss (they compute under their own lock and ``put``).
"""

from collections import OrderedDict
from typing import Generic, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")


class BoundedCache(Generic[K, V]):
    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            msg = f"maxsize must be at least 1, not {maxsize}"
            raise ValueError(msg)
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()

    @overload
    def get(self, key: K) -> V | None: ...

    @overload
    def get(self, key: K, default: D) -> V | D: ...

    def get(self, key: K, default: object = None) -> object:
        try:
            self._data.move_to_end(key)
            return self._data[key]
        except KeyError:  # absent, or evicted by another thread meanwhile
            return default

    def put(self, key: K, value: V) -> None:
        """Keep ``value``; callers that may race hold a lock around get-then-put."""
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data
