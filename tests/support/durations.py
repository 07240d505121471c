"""Test time per directory of tests/, summed over pytest's workers.

``scripts/test`` prints it after the run: with tests spread over workers, the wall time
of the pytest step says how long CI waited, and this table says which part of the suite
spent it, so a later change knows what its tests cost against the CI budget.
"""

from collections import defaultdict
from dataclasses import dataclass, field

import pytest


@dataclass
class DirectoryTimes:
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    tests: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, report: pytest.TestReport) -> None:
        directory = directory_of(report.nodeid)
        self.seconds[directory] += report.duration
        if report.when == "call" or (report.when == "setup" and report.skipped):
            self.tests[directory] += 1

    def lines(self) -> list[str]:
        rows = sorted(self.seconds.items(), key=lambda item: item[1], reverse=True)
        lines = [f"{seconds:8.1f}s {self.tests[name]:6d} tests  {name}" for name, seconds in rows]
        total = sum(self.seconds.values())
        lines.append(f"{total:8.1f}s {sum(self.tests.values()):6d} tests  total")
        return lines


def directory_of(nodeid: str) -> str:
    """``tests/relay/test_x.py::test_y[a/b]`` -> ``tests/relay``."""
    path = nodeid.split("::", 1)[0]
    parts = path.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else path
