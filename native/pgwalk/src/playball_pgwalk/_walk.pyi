from collections.abc import Callable
from typing import Any

INT8: int
INT4: int
INT2: int
TEXT: int
BYTEA: int

def walk_binary(
    data: bytes, offset: int, plan: tuple[int | Callable[[bytes], Any] | None, ...], /
) -> list[Any] | None: ...
