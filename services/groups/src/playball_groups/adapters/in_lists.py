"""Long ``IN`` lists cut into parts: SQLite's expression depth limits them."""

from collections.abc import Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")

IN_CHUNK = 500  # PostgreSQL is happy with far more


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
