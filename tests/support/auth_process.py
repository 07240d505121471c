"""``playball auth`` as real processes: one-off commands, and ``serve`` on a free port."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from support.stack_env import free_port

PLAYBALL = str(Path(sys.executable).with_name("playball"))
STARTUP_SECONDS = 60.0


def playball_auth(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """``playball auth <args>`` with ``env`` over this process's environment."""
    return subprocess.run(
        [PLAYBALL, "auth", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@contextmanager
def auth_served(database: Path, env: Mapping[str, str]) -> Iterator[str]:
    """``playball auth serve`` on a migrated SQLite ``database`` (see :func:`serving`)."""
    full_env = {**os.environ, "PLAYBALL_AUTH_DATABASE_URL": f"sqlite:///{database}", **env}
    migrated = playball_auth("migrate", env=full_env)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    with serving(full_env) as base:
        yield base


@contextmanager
def serving(env: Mapping[str, str]) -> Iterator[str]:
    """``playball auth serve`` with exactly ``env`` (its database migrated), in its own
    process group on a free loopback port; yields its base URL once healthy; SIGTERM
    (then SIGKILL) at the end."""
    port = free_port()
    process = subprocess.Popen(
        [PLAYBALL, "auth", "serve", "--port", str(port)],
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the server did not become healthy in 60 s"
            time.sleep(0.1)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stderr:
            process.stderr.close()
