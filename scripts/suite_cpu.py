"""Where the test suite's CPU goes: per kind of process, and per test.

    python3 -m uv run python scripts/suite_cpu.py [PYTEST ARGS...]

Runs pytest as scripts/test does (5 workers, ``--dist loadgroup``; the stack must be up:
`playball stack up`, then `playball schemas register`) while a thread samples every
process's CPU from ``/proc`` five times a second, and a plugin
(tests/support/cpu_per_test.py) records each test's own and reaped-children CPU. Prints
the machine's busy CPU over the run, the CPU per kind of process (the JVMs, PostgreSQL,
the pytest workers, each service command) and the tests that cost most.

Why: on 2 cores the suite is CPU-bound, so its wall time is its CPU divided by two; a
change that saves waiting saves nothing, one that saves CPU saves time.
"""

import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from playball_stack.settings import StackSettings

TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_EVERY = 0.2
# a process's command line settles once it has exec'd: re-read it while it is this young
SETTLING = 1.0
TOP_TESTS = 25


def kind_of(argv: list[str], stack_home: str) -> str:
    """The row a process's CPU is added to, from its command line."""
    program = Path(argv[0]).name
    if program.startswith("java"):
        return _java_kind(argv, stack_home)
    if program.startswith("postgres"):
        return _postgres_kind(argv)
    if "python" in program or program in {"playball", "pytest"}:
        return _python_kind(argv)
    return program


def _java_kind(argv: list[str], stack_home: str) -> str:
    if "kafka.Kafka" in argv:
        stack = any(a.endswith("server.properties") and a.startswith(stack_home) for a in argv)
        return "kafka (stack)" if stack else "kafka (private, the tests')"
    if any(a.endswith("quarkus-run.jar") for a in argv):
        return "schema registry"
    if "kafka.tools.StorageTool" in argv:
        return "kafka storage format"
    return "java (other)"


def _postgres_kind(argv: list[str]) -> str:
    """A server process by its title ("postgres: checkpointer", "postgres: walsender u
    db ...", "postgres: u db 127.0.0.1(5) idle" for a client's backend)."""
    title = " ".join(argv)
    if not title.startswith("postgres: "):
        return "postgres"
    words = title.removeprefix("postgres: ").split()
    if words[0] == "walsender":
        return "postgres: walsender"
    if len(words) >= 3 and "(" in words[2]:
        return "postgres: backend"
    return "postgres: " + " ".join(w for w in words if not any(c.isdigit() for c in w))[:40]


def _python_kind(argv: list[str]) -> str:
    words = " ".join(argv[1:6])
    if "exec(eval(" in words:
        return "pytest workers"
    words = re.sub(r"\S*/", "", words)  # paths to their last part
    words = re.sub(r"[0-9a-f]{8,}|\d+", "N", words)
    return "python " + words[:80]


class Sampler(threading.Thread):
    """CPU ticks per kind of process, until stopped."""

    def __init__(self, stack_home: str) -> None:
        super().__init__(daemon=True)
        self.stack_home = stack_home
        self.ticks: collections.Counter[str] = collections.Counter()
        self.count: collections.Counter[str] = collections.Counter()
        self._seen: dict[int, tuple[str, int, float]] = {}  # pid: kind, ticks, first seen
        self._stop_event = threading.Event()

    def run(self) -> None:
        first = True
        while not self._stop_event.is_set():
            now = time.monotonic()
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    self._sample(int(entry.name), now, baseline=first)
            first = False
            self._stop_event.wait(SAMPLE_EVERY)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def _sample(self, pid: int, now: float, *, baseline: bool) -> None:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used = int(stat[11]) + int(stat[12])
            known = self._seen.get(pid)
            if known is None or now - known[2] < SETTLING:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                parts = [part for part in argv.split("\0") if part]
                if not parts:
                    return  # a kernel thread
                kind = kind_of(parts, self.stack_home)
                if known is None:
                    # what ran before the sampler started is not the suite's
                    known = (kind, used if baseline else 0, now)
                    self.count[kind] += 1
                known = (kind, known[1], known[2])
        except (OSError, IndexError, ValueError):
            return  # gone meanwhile
        self.ticks[known[0]] += used - known[1]
        self._seen[pid] = (known[0], used, known[2])


def busy_ticks() -> int:
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # all but idle and iowait


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="suite-cpu") as reports:
        env = {**os.environ, "PLAYBALL_CPU_REPORT_DIR": reports}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as scripts/test runs it
        command = [sys.executable, "-m", "pytest", "-n", "5", "--dist", "loadgroup"]
        command += ["-p", "support.cpu_per_test", "-q", *sys.argv[1:]]
        sampler = Sampler(str(StackSettings().home))
        busy_before, started = busy_ticks(), time.monotonic()
        sampler.start()
        status = subprocess.run(command, env=env, check=False).returncode
        sampler.stop()
        wall, busy = time.monotonic() - started, (busy_ticks() - busy_before) / TICKS
        tests = [
            json.loads(line)
            for report in Path(reports).glob("*.jsonl")
            for line in report.read_text(encoding="utf-8").splitlines()
        ]
    print(f"\n== CPU over the run: {busy:.0f} CPU-s busy in {wall:.0f} s of wall")
    print(f"   ({busy / wall / (os.cpu_count() or 1):.0%} of {os.cpu_count()} cores)")
    print("\n== per kind of process (CPU-s, processes)")
    for kind, ticks in sampler.ticks.most_common(60):
        print(f"{ticks / TICKS:9.1f}  {sampler.count[kind]:5d}  {kind}")
    print(f"\n== the {TOP_TESTS} tests that cost most (own + reaped children, CPU-s; wall)")
    tests.sort(key=lambda t: -(t["own"] + t["children"]))
    if keep := os.environ.get("PLAYBALL_CPU_TESTS_JSON"):
        # every test's figures, to sort another way than below (PLAYBALL_CPU_TESTS_JSON=file)
        Path(keep).write_text(json.dumps(tests, indent=1), encoding="utf-8")
    for test in tests[:TOP_TESTS]:
        own, children, wall = test["own"], test["children"], test["wall"]
        print(f"{own + children:7.1f} {own:6.1f} {children:6.1f} {wall:6.1f}  {test['test']}")
    return status


if __name__ == "__main__":
    sys.exit(main())
