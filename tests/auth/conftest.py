"""Fixtures of the auth suites: one database per backend and session, emptied per test.

The PostgreSQL database is private to this test session (``playball_auth_t<hex>`` on the
shared server, dropped at the end), so a test may assert on whole tables.
"""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher as Argon2
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from playball_auth.adapters.database_sql import (
    create_database_if_missing,
    make_engine,
    migrate,
)
from playball_auth.adapters.key_ring import StaticKeyRing
from playball_auth.adapters.passwords_argon2 import Argon2PasswordHasher
from playball_auth.adapters.tokens_jwt import JwtAccessTokens
from playball_auth.entrypoints.api import create_app
from playball_auth.service_layer.ports import AuthPorts
from playball_events.settings import with_database
from sqlalchemy import Engine
from support.auth_backends import (
    ISSUER,
    AuthBackend,
    FakeBackend,
    SqlBackend,
    drop_database,
    sql_backend_for,
)


@pytest.fixture(scope="session")
def auth_pg_url(database_url: str) -> Iterator[str]:
    """A fresh, migrated auth database on the shared PostgreSQL, dropped at the end."""
    name = f"playball_auth_t{uuid.uuid4().hex[:12]}"
    url = with_database(database_url, name)
    create_database_if_missing(url)
    try:
        yield url
    finally:
        drop_database(database_url, name)


def _migrated(url: str) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    return engine


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("auth") / "auth.db"
    engine = _migrated(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_engine(auth_pg_url: str) -> Iterator[Engine]:
    engine = _migrated(auth_pg_url)
    yield engine
    engine.dispose()


SQL_BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.stack)]


@pytest.fixture(params=SQL_BACKENDS)
def sql_backend(request: pytest.FixtureRequest) -> SqlBackend:
    """SQLite and PostgreSQL, each emptied for the test."""
    return sql_backend_for(request.param, request)


@pytest.fixture
def pg_backend(request: pytest.FixtureRequest) -> SqlBackend:
    """PostgreSQL alone (mark the test ``stack``)."""
    return sql_backend_for("postgresql", request)


@pytest.fixture(params=["fake", *SQL_BACKENDS])
def backend(request: pytest.FixtureRequest) -> AuthBackend:
    """The fakes, SQLite and PostgreSQL: the shared suite runs on each."""
    if request.param == "fake":
        return FakeBackend()
    return sql_backend_for(request.param, request)


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def tokens(signing_key: rsa.RSAPrivateKey) -> JwtAccessTokens:
    return JwtAccessTokens(StaticKeyRing(signing_key), issuer=ISSUER, ttl_seconds=900)


@pytest.fixture(scope="session")
def cheap_argon2() -> Argon2PasswordHasher:
    """argon2id at minimal cost: the API suites hash a lot; the real parameters have their
    own tests."""
    return Argon2PasswordHasher(Argon2(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def ports(
    backend: AuthBackend, tokens: JwtAccessTokens, cheap_argon2: Argon2PasswordHasher
) -> AuthPorts:
    return AuthPorts(
        uow_factory=backend.uow_factory,
        passwords=cheap_argon2,
        tokens=tokens,
        check_ready=lambda: True,
        throttle=backend.throttle(),
    )


@pytest.fixture
def client(ports: AuthPorts) -> Iterator[TestClient]:
    with TestClient(create_app(ports), raise_server_exceptions=False) as test_client:
        yield test_client
