"""Test time per directory of tests/, summed over pytest's workers, and each worker's load.

``scripts/test`` prints it after the run: with tests spread over workers, the wall time
of the pytest step says how long CI waited, this table says which part of the suite
spent it, and the worker lines say whether one worker's long tail set the wall time.
"""

from collections import defaultdict
from dataclasses import dataclass, field

import pytest


@dataclass
class DirectoryTimes:
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    tests: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    worker_busy: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    worker_last_stop: dict[str, float] = field(default_factory=dict)
    first_start: float | None = None

    def add(self, report: pytest.TestReport) -> None:
        directory = directory_of(report.nodeid)
        self.seconds[directory] += report.duration
        if report.when == "call" or (report.when == "setup" and report.skipped):
            self.tests[directory] += 1
        # pytest-xdist's controller gets each report with the worker node that ran it
        node = getattr(report, "node", None)
        worker = str(node.gateway.id) if node is not None else "main"
        self.worker_busy[worker] += report.duration
        self.worker_last_stop[worker] = max(self.worker_last_stop.get(worker, 0.0), report.stop)
        self.first_start = min(self.first_start or report.start, report.start)

    def worker_lines(self) -> list[str]:
        """Per worker: seconds in tests, and when (after the first test's start) it ended."""
        start = self.first_start or 0.0
        return [
            f"{self.worker_busy[worker]:8.1f}s busy, done at {stop - start:6.1f}s  {worker}"
            for worker, stop in sorted(self.worker_last_stop.items())
        ]

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
