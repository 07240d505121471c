"""Background processes the stack owns: started detached, tracked by pid file, stopped whole.

Each process runs in its own session (process group) so that stopping it also stops
anything it forked, and ``down`` leaves no orphan behind. A pid file alone is not proof
of ownership (pids are reused), so a process counts as ours only while its command line
still carries the marker we started it with (a path inside the stack's home).
"""

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from playball_stack.errors import StackError


def _argv(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")


def carries_marker(pid: int, marker: str) -> bool:
    """True when one of ``pid``'s arguments is ``marker``, or names it or a path under it.

    Whole path components only: ``/srv/pb`` matches ``/srv/pb/kafka``, ``-Dx=/srv/pb/kafka``
    and ``/srv/pb/a:/srv/pb/b``, never ``/srv/pb2`` (another stack's home) nor ``/x/srv/pb``.
    """
    under = marker.rstrip("/") + "/"
    for arg in _argv(pid):
        for token in (arg, *re.split(r"[=:]", arg)):
            if token == marker or token.startswith(under):
                return True
    return False


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


def pids_with_marker(marker: str, programs: Collection[str] | None = None) -> list[int]:
    """Every live process whose command line carries ``marker`` (see :func:`carries_marker`).

    With ``programs``, only processes whose executable has one of those names: a server we
    started, not a user's ``tail -f`` on one of its logs.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        if programs is not None and Path(next(iter(_argv(pid)), "")).name not in programs:
            continue
        if carries_marker(pid, marker) and is_running(pid):
            found.append(pid)
    return sorted(found)


# Logs hold what services print: addresses, user ids, and any secret a library echoes on
# a failure. Owner and group may read them, others may not.
LOG_MODE = 0o640


def open_log(path: Path) -> int:
    """A descriptor appending to ``path``, created ``LOG_MODE``; a log left looser by an
    older version (0644) is tightened, a tighter one (0600) kept as it is."""
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, LOG_MODE)
    try:
        mode = os.fstat(log).st_mode & 0o777
        if mode & ~LOG_MODE:
            os.fchmod(log, mode & LOG_MODE)
    except OSError:
        os.close(log)
        raise
    return log


@dataclass(frozen=True, slots=True)
class ManagedProcess:
    name: str
    pid_file: Path
    log_file: Path
    marker: str  # an argument (or path) every process of ours carries on its command line

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if is_running(pid) and carries_marker(pid, self.marker):
            return pid
        return None

    def start(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None, *, inherit: bool = True
    ) -> int:
        """Spawn ``argv`` in a new session, output appended to the log; returns its pid.

        Its environment is ours with ``env`` on top, or, with ``inherit`` false, ``env``
        alone (a process that must not see our credentials).

        ``posix_spawn`` rather than ``subprocess.Popen``: these servers are meant to outlive
        the interpreter that started them (``stack up`` returns while they run), and a Popen
        handle would complain at exit that its child "is still running". Paths in ``argv``
        must be absolute: the child keeps our working directory.
        """
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = open_log(self.log_file)
        try:
            pid = os.posix_spawnp(
                argv[0],
                list(argv),
                {**(os.environ if inherit else {}), **(env or {})},
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, log, 1),
                    (os.POSIX_SPAWN_DUP2, log, 2),
                ],
                setsid=True,
            )
        finally:
            os.close(log)
        self.pid_file.write_text(f"{pid}\n")
        _wait_for_exec(pid, self.marker)
        return pid

    def exited_early(self) -> bool:
        """True when the pid file names a process that is gone (it crashed on start)."""
        return self.pid_file.is_file() and self.pid() is None

    def stop(self, timeout: float = 30.0, sig: signal.Signals = signal.SIGTERM) -> None:
        pid = self.pid()
        if pid is not None:
            _signal_group(pid, sig)
            if not _wait_gone(pid, timeout):
                _signal_group(pid, signal.SIGKILL)
                if not _wait_gone(pid, _KILL_GRACE):
                    msg = (
                        f"{self.name} (pid {pid}) survived SIGKILL for {_KILL_GRACE:.0f} s "
                        "(stuck in the kernel?); its pid file is kept, check `ps -o stat "
                        f"-p {pid}` and run `playball stack down` again"
                    )
                    raise StackError(msg)
        self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL, as a fault test does: no shutdown hooks, no flush."""
        self.stop(timeout=0.0, sig=signal.SIGKILL)


_KILL_GRACE = 10.0
_EXEC_GRACE = 10.0


def _wait_for_exec(pid: int, marker: str) -> None:
    """Wait until the new process shows its own command line (or has died).

    posix_spawn returns once the child is inside execve, but the kernel publishes the new
    argv in /proc/<pid>/cmdline a moment later; until then the process would not look like
    ours and a fast caller would take it for one that crashed on start.
    """
    deadline = time.monotonic() + _EXEC_GRACE
    while not carries_marker(pid, marker) and is_running(pid) and time.monotonic() < deadline:
        time.sleep(0.005)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group ``pid`` leads (we start every process as a group leader);
    a process that somehow is not a group leader is signalled on its own."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def kill_and_wait(pid: int) -> None:
    """SIGKILL one process (a leftover we did not start this run) and wait until it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_gone(pid, _KILL_GRACE)


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def _wait_gone(pid: int, timeout: float) -> bool:
    """Poll until ``pid`` and everything in its process group are gone (False at timeout).

    Waiting for the leader alone is not enough: a child that got the same signal may
    still be on its way out, and "stopped" must mean nothing of ours is left.
    """
    deadline = time.monotonic() + timeout
    while True:
        _reap(pid)
        if not is_running(pid) and not _group_members(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _reap(pid: int) -> None:
    """Collect the exit status when ``pid`` is our own child, so it leaves no zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def run_tool(argv: Sequence[str], timeout: float) -> "subprocess.CompletedProcess[str]":
    """Run a short-lived tool (initdb, pg_ctl, Kafka's storage format) with a deadline."""
    try:
        return subprocess.run(
            list(argv), capture_output=True, text=True, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        msg = f"`{' '.join(argv)}` did not finish within {timeout:.0f} s"
        raise StackError(msg) from exc


def tail(path: Path, lines: int = 30) -> str:
    if lines <= 0:  # content[-0:] would be the whole file
        return ""
    try:
        content = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(content.splitlines()[-lines:])
