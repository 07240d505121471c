"""A pytest plugin for scripts/suite_cpu.py: each test's CPU, one JSON line per test.

Loaded with ``-p support.cpu_per_test``; it records only when ``PLAYBALL_CPU_REPORT_DIR``
names a directory. Per test: its wall time, the CPU of the process running it (a pytest
worker: the test's own code, its in-process clients and servers) and the CPU of the
children that process reaped meanwhile (CLIs and services it started and waited for;
daemons such as the stack's JVMs are not reaped by it and show in the script's
per-process table instead).
"""

import json
import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

REPORT_DIR_VARIABLE = "PLAYBALL_CPU_REPORT_DIR"
_report: TextIO | None = None


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    global _report  # noqa: PLW0603 - one report file per process, opened on first use
    directory = os.environ.get(REPORT_DIR_VARIABLE)
    if not directory:
        yield
        return
    own, reaped, started = (
        _cpu(resource.RUSAGE_SELF),
        _cpu(resource.RUSAGE_CHILDREN),
        time.monotonic(),
    )
    yield
    if _report is None:
        _report = (Path(directory) / f"{os.getpid()}.jsonl").open("a", encoding="utf-8")
    line = {
        "test": item.nodeid,
        "wall": time.monotonic() - started,
        "own": _cpu(resource.RUSAGE_SELF) - own,
        "children": _cpu(resource.RUSAGE_CHILDREN) - reaped,
    }
    _report.write(json.dumps(line) + "\n")
    _report.flush()


def pytest_unconfigure() -> None:
    """Close the report (a worker's session ends here; left open, the interpreter's exit
    warns of an unclosed file)."""
    global _report  # noqa: PLW0603 - the one report file of this process
    if _report is not None:
        _report.close()
        _report = None
