"""`playball stack up` on the home of a stack made before the stack was secured.

Such a home has data (a formatted Kafka, a PostgreSQL cluster) but no credentials: its
Kafka has no SCRAM users, its PostgreSQL trusts everyone, and it cannot be secured in
place. `up` refuses it with exit 2, says how to get a secured stack (`playball stack
reset --yes`), and touches nothing: no credentials, no CA, no marker, no process.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from playball_core import local_stack
from playball_stack.processes import pids_with_marker
from support.stack_env import DEAD_REGISTRY_URL, free_port, free_port_run

# (relative path, what it holds): what an unsecured stack left in its home
UNSECURED_KAFKA = {
    "kafka/cluster.id": "MkU3OEVBNTcwNTJENDM2Qk\n",
    "kafka/node-1/meta.properties": "node.id=1\nversion=1\n",
    "kafka/brokers": "1\n",
}
UNSECURED_POSTGRES = {"postgres/data/PG_VERSION": "17\n"}

Snapshot = dict[str, tuple[bool, bytes, int, int]]


def snapshot(home: Path) -> Snapshot:
    """Every path under ``home``: whether a directory, its bytes, its mode, its mtime."""
    found: Snapshot = {}
    for path in [home, *home.rglob("*")]:
        info = path.stat()
        content = b"" if path.is_dir() else path.read_bytes()
        found[str(path.relative_to(home))] = (
            path.is_dir(),
            content,
            info.st_mode,
            info.st_mtime_ns,
        )
    return found


def stack_up(home: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    """``playball stack up`` for ``home`` with Kafka and PostgreSQL its own (on free ports),
    the registry external; nothing of the session's environment (its admin) applies."""
    env = {
        **{
            name: value
            for name, value in os.environ.items()
            if not name.startswith("PLAYBALL_") and name != "DATABASE_URL"
        },
        local_stack.HOME_VARIABLE: str(home),
        "PLAYBALL_CACHE_DIR": str(cache),
        "PLAYBALL_KAFKA_PORT": str(free_port_run(2)),
        "PLAYBALL_POSTGRES_PORT": str(free_port()),
        "PLAYBALL_SCHEMA_REGISTRY_URL": DEAD_REGISTRY_URL,
    }
    return subprocess.run(
        [sys.executable, "-m", "playball_cli", "stack", "up", "--timeout", "30"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "left_behind", [UNSECURED_KAFKA, UNSECURED_POSTGRES], ids=["kafka", "postgres"]
)
def test_up_refuses_an_unsecured_home_with_exit_2_naming_reset_and_touches_nothing(
    tmp_path: Path, left_behind: dict[str, str]
) -> None:
    home = tmp_path / "home"
    for relative, content in left_behind.items():
        (home / relative).parent.mkdir(parents=True, exist_ok=True)
        (home / relative).write_text(content)
    before = snapshot(home)

    result = stack_up(home, tmp_path / "cache")

    assert result.returncode == 2, result.stdout + result.stderr
    assert "playball stack reset --yes" in result.stderr
    assert "unsecured" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(home) == before  # no credentials, CA, marker or log was written
    assert not (tmp_path / "cache").exists()  # nothing was downloaded either
    assert pids_with_marker(str(home)) == []
