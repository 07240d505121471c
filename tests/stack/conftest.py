"""Fixtures the stack tests share: ports in known states and a clean environment.
Plain helpers (free ports, dead addresses, a second stack's settings) are in
:mod:`support.stack_env`."""

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.stack_env import DEAD_DATABASE_URL, DEAD_KAFKA_BOOTSTRAP, DEAD_REGISTRY_URL


@pytest.fixture
def bound_not_listening() -> Iterator[int]:
    """A port held by this test and never listened on: connections to it are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port this test listens on: any component needing it finds it busy."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No PLAYBALL_* / DATABASE_URL from the session's environment; a private home."""
    for name in list(os.environ):
        if name.startswith("PLAYBALL_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("PLAYBALL_HOME", str(home))
    monkeypatch.setenv("PLAYBALL_CACHE_DIR", str(tmp_path / "cache"))
    return home


@pytest.fixture
def external_env(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``clean_env`` with every component external (at dead addresses): nothing to start."""
    monkeypatch.setenv("DATABASE_URL", DEAD_DATABASE_URL)
    monkeypatch.setenv("PLAYBALL_SCHEMA_REGISTRY_URL", DEAD_REGISTRY_URL)
    monkeypatch.setenv("PLAYBALL_KAFKA_BOOTSTRAP", DEAD_KAFKA_BOOTSTRAP)
    return clean_env
