"""Throwaway databases for tests: a fresh PostgreSQL database per use, or a SQLite file."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from playball_events.settings import with_database


def _admin_dsn(server_url: str) -> str:
    return with_database(server_url, "postgres").replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def fresh_postgres(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the server of ``server_url``; dropped afterwards."""
    name = f"{prefix}_t{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_dsn(server_url), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        drop_database(with_database(server_url, name))


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_admin_dsn(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'groups.db'}"
