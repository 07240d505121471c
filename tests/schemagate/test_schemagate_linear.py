"""Parsing and comparing grow linearly with the schema's size (counted, never timed).

A step is one line of Python executed anywhere during the call (``sys.settrace`` line
events), so a linear scan hidden inside a lookup counts as much as a visible loop. The
timings are in ``scripts/bench_schema_compare.py``.
"""

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from playball_core.avro.parser import parse_schema
from playball_core.avro.schema import SourceRef
from playball_core.manifest import CompatibilityLevel
from playball_schemagate.gate import compare
from playball_schemagate.schema_version import SchemaVersion
from schemagate.wide_schemas import wide_record

N = 250


def _steps(call: Callable[[], Any]) -> int:
    count = 0

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(None)
    return count


def _version(fields: int) -> SchemaVersion:
    return SchemaVersion("v", parse_schema(wide_record(fields), SourceRef("wide.avsc")))


def _compare_steps(fields: int) -> int:
    old, new = _version(fields), _version(fields)
    return _steps(lambda: compare(new, [old], CompatibilityLevel.FULL))


def _parse_steps(fields: int) -> int:
    text = wide_record(fields)
    return _steps(lambda: parse_schema(text, SourceRef("wide.avsc")))


def test_comparing_a_record_with_itself_at_full_is_linear_in_its_fields() -> None:
    small, large = _compare_steps(N), _compare_steps(4 * N)
    # Linear: 4x the fields, about 4x the steps (quadratic would be about 16x).
    assert large <= 4.4 * small, (small, large)


def test_parsing_is_linear_in_the_number_of_fields() -> None:
    small, large = _parse_steps(N), _parse_steps(4 * N)
    assert large <= 4.4 * small, (small, large)
