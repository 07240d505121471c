"""``playball groups``: exit codes, migrate on a fresh database, serve's health endpoint."""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from support.databases import drop_database, fresh_postgres
from support.stack_env import free_port

PLAYBALL = str(Path(sys.executable).parent / "playball")


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PLAYBALL, "groups", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_bad_setting_is_named_and_exits_2() -> None:
    result = run("migrate", PLAYBALL_GROUPS_PORT="http")
    assert result.returncode == 2
    assert "PLAYBALL_GROUPS_PORT" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_database_exits_3() -> None:
    result = run(
        "migrate", PLAYBALL_GROUPS_DATABASE_URL="postgresql://playball:x@127.0.0.1:9/groups"
    )
    assert result.returncode == 3
    assert "unreachable" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")  # the prefix every playball command uses


def test_redrive_needs_all_or_offsets() -> None:
    assert run("dlq", "redrive").returncode == 2
    assert run("dlq", "redrive", "--all", "3").returncode == 2
    assert run("dlq", "redrive", "x:y").returncode == 2


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = run("serve", PLAYBALL_GROUPS_DATABASE_URL=f"sqlite:///{tmp_path / 'g.db'}")
    assert result.returncode == 2
    assert "playball groups migrate" in result.stderr


def _healthz(port: int) -> tuple[int, bytes] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status, response.read()
    except (urllib.error.URLError, ConnectionError):
        return None


@pytest.mark.stack
def test_migrate_creates_the_database_then_serve_answers_healthz(database_url: str) -> None:
    with fresh_postgres(database_url, "playball_groups") as existing:
        # a name on the same server that does not exist yet: migrate must create it
        missing = existing.rsplit("/", 1)[0] + "/" + existing.rsplit("/", 1)[1] + "_new"
        created = run("migrate", PLAYBALL_GROUPS_DATABASE_URL=missing)
        assert created.returncode == 0, created.stderr
        assert "created" in created.stdout
        assert run("migrate", PLAYBALL_GROUPS_DATABASE_URL=missing).returncode == 0  # idempotent

        port = free_port()
        server = subprocess.Popen(
            [PLAYBALL, "groups", "serve", "--port", str(port)],
            env={**os.environ, "PLAYBALL_GROUPS_DATABASE_URL": missing},
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            answer = _healthz(port)
            while answer is None:
                assert server.poll() is None, "serve exited"
                assert time.monotonic() < deadline, "serve did not answer /healthz"
                time.sleep(0.2)
                answer = _healthz(port)
            assert answer == (200, b'{"status":"ok","database":"ok"}')
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.communicate(timeout=30)
            drop_database(missing)
