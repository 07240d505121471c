"""Processes the stack starts: whole process groups stopped, only our own pids, ports."""

import os
import subprocess
from pathlib import Path

from playball_stack.components.postgres import Postgres
from playball_stack.ports import holder_of, is_listening
from playball_stack.processes import (
    ManagedProcess,
    carries_marker,
    is_running,
    pids_with_marker,
    tail,
)
from support.stack_env import (
    free_port_run,
    wait_for,
)


def _sleeper(tmp_path: Path, marker: Path) -> tuple[ManagedProcess, list[str]]:
    """A shell (carrying ``marker`` as its $0) with a ``sleep`` child in its process group."""
    marker.parent.mkdir(parents=True, exist_ok=True)
    child_pid = tmp_path / "child.pid"
    process = ManagedProcess(
        name="sleeper",
        pid_file=tmp_path / "run" / "sleeper.pid",
        log_file=tmp_path / "run" / "sleeper.log",
        marker=str(marker),
    )
    argv = ["sh", "-c", f'sleep 300 & echo $! > "{child_pid}"; wait', str(marker)]
    return process, argv


def test_managed_process_start_then_stop_leaves_nothing_running(tmp_path: Path) -> None:
    marker = tmp_path / "home" / "sleeper.conf"
    process, argv = _sleeper(tmp_path, marker)
    (tmp_path / "run").mkdir()

    pid = process.start(argv)

    assert process.pid() == pid
    assert not process.exited_early()
    child_file = tmp_path / "child.pid"
    wait_for(lambda: child_file.is_file() and child_file.read_text().strip() != "", "child pid")
    child = int(child_file.read_text())
    assert is_running(child)
    # the shell's child carries the marker too until it has become `sleep` (fork, then exec)
    wait_for(lambda: pids_with_marker(str(tmp_path / "home")) == [pid], "only the shell marked")

    process.stop(timeout=10.0)

    assert not is_running(pid)
    assert not is_running(child), "the sleep child in the process group survived"
    assert process.pid() is None
    assert not process.pid_file.exists()
    assert pids_with_marker(str(tmp_path / "home")) == []


def test_managed_process_kill(tmp_path: Path) -> None:
    process, argv = _sleeper(tmp_path, tmp_path / "home" / "sleeper.conf")
    (tmp_path / "run").mkdir()
    pid = process.start(argv)

    process.kill()

    assert not is_running(pid)
    assert process.pid() is None


def test_sweep_marker_matches_whole_path_components(tmp_path: Path) -> None:
    # another stack whose home merely starts with the same characters is not ours
    process, argv = _sleeper(tmp_path, tmp_path / "home2" / "sleeper.conf")
    (tmp_path / "run").mkdir()
    pid = process.start(argv)
    try:
        assert carries_marker(pid, str(tmp_path / "home2"))
        assert carries_marker(pid, str(tmp_path))
        assert not carries_marker(pid, str(tmp_path / "home"))
        assert pid not in pids_with_marker(str(tmp_path / "home"))
    finally:
        process.stop(timeout=10.0)
    assert not is_running(pid)


def test_pid_file_naming_a_dead_or_foreign_process_is_not_ours(tmp_path: Path) -> None:
    process = ManagedProcess(
        name="ghost",
        pid_file=tmp_path / "ghost.pid",
        log_file=tmp_path / "ghost.log",
        marker=str(tmp_path / "ghost.conf"),
    )
    assert process.pid() is None  # no pid file

    finished = subprocess.Popen(["true"])
    finished.wait()
    process.pid_file.write_text(f"{finished.pid}\n")
    assert process.pid() is None  # dead
    assert process.exited_early()

    process.pid_file.write_text(f"{os.getpid()}\n")  # alive, but without our marker
    assert process.pid() is None
    process.stop(timeout=1.0)  # must not signal this very test process
    assert is_running(os.getpid())
    assert not process.pid_file.exists()

    process.pid_file.write_text("not a pid\n")
    assert process.pid() is None


def test_postgres_pid_file_naming_a_foreign_process_is_not_ours(tmp_path: Path) -> None:
    postgres = Postgres(tmp_path, 15432)
    postgres.data.mkdir(parents=True)
    (postgres.data / "postmaster.pid").write_text(f"{os.getpid()}\n{postgres.data}\n")
    assert postgres.pid() is None
    postgres.kill()  # a stale postmaster.pid must never get a reused pid SIGKILLed
    assert is_running(os.getpid())


def test_tail(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {n}\n" for n in range(1, 11)))
    assert tail(log, 3) == "line 8\nline 9\nline 10"
    assert tail(log, 0) == ""
    assert tail(tmp_path / "missing.log") == f"(no log at {tmp_path / 'missing.log'})"


def test_is_listening_and_holder_of_a_socket_we_open(listening_port: int) -> None:
    assert is_listening(listening_port)
    holder = holder_of(listening_port)
    if holder is not None:  # `ss` may be missing or may not show other users' processes
        assert holder.endswith(f" pid {os.getpid()}")


def test_a_bound_but_silent_port_is_not_listening(bound_not_listening: int) -> None:
    assert not is_listening(bound_not_listening)
    assert holder_of(bound_not_listening) is None


def test_leftover_search_ignores_other_programs_naming_the_same_directory(tmp_path: Path) -> None:
    # a user's `tail -f` on a broker log must survive `stack down`; only servers are leftovers
    runtime = tmp_path / "kafka" / "node-1"
    runtime.mkdir(parents=True)
    log = runtime / "server.log"
    log.write_text("")
    watcher = subprocess.Popen(["tail", "-f", str(log)])
    try:
        # until its exec, the child still shows this Python's command line
        wait_for(lambda: watcher.pid in pids_with_marker(str(runtime)), "tail started")
        assert watcher.pid not in pids_with_marker(str(runtime), programs={"java"})
        assert watcher.pid in pids_with_marker(str(runtime), programs={"tail"})
    finally:
        watcher.kill()
        watcher.wait()


def test_test_servers_get_ports_no_outgoing_connection_can_take() -> None:
    # below the ephemeral range: a scratch broker restarted on its port never finds it
    # taken by some client's connection
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    base = free_port_run(6)
    assert base + 6 <= low
    for port in range(base, base + 6):
        assert not is_listening(port)
