"""Process logs are 0640 at most: created so, and an older, looser one tightened on start."""

import os
import stat
from pathlib import Path

import pytest
from playball_stack.processes import LOG_MODE, ManagedProcess, open_log
from support.stack_env import wait_for


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("before", "after"),
    [(None, 0o640), (0o644, 0o640), (0o666, 0o640), (0o600, 0o600), (0o755, 0o640)],
)
def test_open_log_creates_0640_and_only_ever_tightens(
    tmp_path: Path, before: int | None, after: int
) -> None:
    log = tmp_path / "service.log"
    if before is not None:
        log.write_text("older run\n")
        log.chmod(before)
    os.close(open_log(log))
    assert _mode(log) == after
    assert LOG_MODE == 0o640


def test_a_started_process_logs_to_a_0640_file_appended_to(tmp_path: Path) -> None:
    log = tmp_path / "run" / "echo.log"
    log.parent.mkdir()
    log.write_text("older run\n")
    log.chmod(0o644)
    process = ManagedProcess("echo", tmp_path / "run" / "echo.pid", log, str(tmp_path))
    process.start(["sh", "-c", "echo started", str(tmp_path)])
    wait_for(lambda: "started" in log.read_text(), "the process wrote its log")
    assert _mode(log) == 0o640
    assert log.read_text() == "older run\nstarted\n"
