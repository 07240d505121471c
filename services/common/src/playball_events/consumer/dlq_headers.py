"""Reading a dead-letter message's own ``dlq.*`` headers without trusting them.

Whoever can write the dead-letter topic can put any bytes there, so each header is
checked: present exactly once, with a value, in UTF-8, of the right type. A failed check
is noted as a problem and a placeholder returned, never raised: one forged letter must
not stop an operator from listing the others.
"""

import datetime as dt
import re
from collections.abc import Sequence

# ASCII digits only: int() would also take "+1", " 1", "1_0" and other scripts' digits,
# and its length cap would raise on a 5,000-digit header.
_NUMBER = re.compile(r"[0-9]{1,19}")
_LONGEST_TIME = 64  # "2026-11-29T12:00:00.123456+00:00" is 32
_UNKNOWN = "?"


class LetterHeaders:
    """The headers starting with ``prefix``; each accessor records what is wrong."""

    def __init__(self, headers: Sequence[tuple[str, object]], prefix: str) -> None:
        self._values: dict[str, list[object]] = {}
        for name, value in headers:
            if name.startswith(prefix):
                self._values.setdefault(name, []).append(value)
        self._problems: list[str] = []

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(self._problems)

    def _raw(self, name: str) -> bytes | None:
        values = self._values.get(name, [])
        if not values:
            self._problems.append(f"{name} is missing")
            return None
        if len(values) > 1:
            # two different answers to "where from": trusting either is a guess
            self._problems.append(f"{name} appears {len(values)} times")
            return None
        value = values[0]
        if not isinstance(value, bytes):
            self._problems.append(f"{name} has no value")
            return None
        return value

    def text(self, name: str) -> str:
        """The header as text; ``?`` when unusable, bytes that are not UTF-8 as ``\\xNN``."""
        raw = self._raw(name)
        if raw is None:
            return _UNKNOWN
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self._problems.append(f"{name} is not UTF-8")
            return raw.decode("utf-8", "backslashreplace")
        if not text:
            self._problems.append(f"{name} is empty")
            return _UNKNOWN
        return text

    def number(self, name: str) -> int:
        """The header as a non-negative integer; -1 when unusable."""
        raw = self._raw(name)
        if raw is None:
            return -1
        if _NUMBER.fullmatch(raw.decode("ascii", "replace")) is None:
            self._problems.append(f"{name} is not a non-negative integer")
            return -1
        return int(raw)

    def timestamp(self, name: str) -> dt.datetime | None:
        """The header as an ISO 8601 time with a UTC offset; None when unusable."""
        raw = self._raw(name)
        if raw is None:
            return None
        try:
            if len(raw) > _LONGEST_TIME:
                raise ValueError
            at = dt.datetime.fromisoformat(raw.decode("ascii"))  # ISO 8601 is ASCII
        except (UnicodeDecodeError, ValueError):
            self._problems.append(f"{name} is not an ISO 8601 time")
            return None
        if at.tzinfo is None:
            self._problems.append(f"{name} has no UTC offset")
            return None
        return at
