"""The auth engine pings a pooled connection only after an idle spell: one taken again at
once costs no round trip, one that sat idle and died meanwhile is replaced before use."""

from collections.abc import Iterator
from typing import Any

import pytest
from playball_auth.adapters import database_sql
from playball_auth.adapters.idle_ping_sql import ping_idle_connections
from playball_service_kit.database_sql import make_engine
from sqlalchemy import Engine, text

pytestmark = pytest.mark.stack

IDLE_SECONDS = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(auth_pg_url: str, clock: Clock) -> Iterator[Engine]:
    engine = make_engine(auth_pg_url, pool_size=1, max_overflow=0, pool_pre_ping=False)
    ping_idle_connections(engine, IDLE_SECONDS, clock)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Each ping the engine's dialect sends."""
    sent: list[object] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        sent.append(dbapi_connection)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return sent


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT pg_backend_pid()")))


def test_a_connection_used_again_at_once_is_not_pinged(
    engine: Engine, clock: Clock, pings: list[object]
) -> None:
    _backend_pid(engine)
    assert len(pings) == 1  # a new connection is pinged once
    for _ in range(3):
        clock.now += IDLE_SECONDS - 1
        _backend_pid(engine)
    assert len(pings) == 1


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(
    engine: Engine, clock: Clock, pings: list[object], auth_pg_url: str
) -> None:
    first = _backend_pid(engine)
    admin = make_engine(auth_pg_url, pool_pre_ping=False)
    try:
        with admin.connect() as connection:
            assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    finally:
        admin.dispose()
    clock.now += IDLE_SECONDS
    second = _backend_pid(engine)  # no error: the ping found it dead before the query
    assert second != first
    assert len(pings) >= 2


def test_the_auth_engine_pings_after_an_idle_spell_only(auth_pg_url: str) -> None:
    engine = database_sql.make_engine(auth_pg_url)
    try:
        assert engine.pool._pre_ping is False
        assert _backend_pid(engine) > 0
    finally:
        engine.dispose()
