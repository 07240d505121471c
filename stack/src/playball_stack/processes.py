"""Background processes the stack owns: started detached, tracked by pid file, stopped whole.

Each process runs in its own session (process group) so that stopping it also stops
anything it forked, and ``down`` leaves no orphan behind. A pid file alone is not proof
of ownership (pids are reused), so a process counts as ours only while its command line
still carries the marker we started it with (a path inside the stack's home).
"""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Children we started in this interpreter. Holding their Popen objects lets us reap them
# (no zombies while a test kills and restarts brokers) and keeps Popen from warning
# that a daemon we meant to leave running "is still running" when it is collected.
_children: dict[int, "subprocess.Popen[bytes]"] = {}


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0); it is not running
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def pids_with_marker(marker: str) -> list[int]:
    """Every live process whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        if marker in _cmdline(int(entry.name)) and is_running(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


@dataclass(frozen=True, slots=True)
class ManagedProcess:
    name: str
    pid_file: Path
    log_file: Path
    marker: str  # a string every process of ours carries on its command line

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if is_running(pid) and self.marker in _cmdline(pid):
            return pid
        return None

    def start(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> int:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _children[process.pid] = process
        self.pid_file.write_text(f"{process.pid}\n")
        return process.pid

    def exited_early(self) -> bool:
        """True when the pid file names a process that is gone (it crashed on start)."""
        return self.pid_file.is_file() and self.pid() is None

    def stop(self, timeout: float = 30.0, sig: signal.Signals = signal.SIGTERM) -> None:
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            deadline = time.monotonic() + timeout
            while is_running(pid) and time.monotonic() < deadline:
                _reap(pid)
                time.sleep(0.1)
            if is_running(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                while is_running(pid):
                    _reap(pid)
                    time.sleep(0.05)
            _reap(pid)
        self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL, as a fault test does: no shutdown hooks, no flush."""
        self.stop(timeout=0.0, sig=signal.SIGKILL)


def _reap(pid: int) -> None:
    """Collect the exit status when the process is our own child (started this run)."""
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]


def tail(path: Path, lines: int = 30) -> str:
    try:
        content = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(content.splitlines()[-lines:])
