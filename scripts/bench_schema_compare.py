"""Time of comparing a wide record with itself at FULL, and of parsing it, by field count.

Prints n, the time, and time per field side by side: linear growth keeps time/n flat.
Run: .venv/bin/python scripts/bench_schema_compare.py [n ...]
"""

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from playball_core.avro.parser import parse_schema
from playball_core.avro.schema import SourceRef
from playball_core.manifest import CompatibilityLevel
from playball_schemagate.gate import compare
from playball_schemagate.schema_version import SchemaVersion

_TYPES: list[Any] = ["int", "string", ["null", "long"], {"type": "array", "items": "double"}]
SIZES = (2_500, 10_000, 20_000)


def wide_record(fields: int) -> str:
    schema = {
        "type": "record",
        "name": "Wide",
        "namespace": "bench",
        "fields": [
            {"name": f"f{i}", "type": _TYPES[i % len(_TYPES)], "doc": "x"} for i in range(fields)
        ],
    }
    return json.dumps(schema, indent=2)


def best_of(runs: int, call: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def main(sizes: tuple[int, ...]) -> None:
    print(f"{'n':>8} {'parse s':>9} {'parse us/n':>11} {'FULL compare s':>15} {'compare us/n':>13}")
    for n in sizes:
        text = wide_record(n)
        source = SourceRef("wide.avsc")
        parse_time = best_of(3, lambda: parse_schema(text, source))  # noqa: B023
        old = SchemaVersion("v1", parse_schema(text, source))
        new = SchemaVersion("v2", parse_schema(text, source))
        compare_time = best_of(3, lambda: compare(new, [old], CompatibilityLevel.FULL))  # noqa: B023
        print(
            f"{n:>8} {parse_time:>9.3f} {parse_time / n * 1e6:>11.1f} "
            f"{compare_time:>15.3f} {compare_time / n * 1e6:>13.1f}"
        )


if __name__ == "__main__":
    main(tuple(int(arg) for arg in sys.argv[1:]) or SIZES)
