"""Fixtures of the groups tests: one shared suite over the fake, SQLite and PostgreSQL."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playball_core import local_stack
from playball_events.consumer.ports import ProcessedEvents
from playball_events.consumer.processed_sql import SqlProcessedEvents
from playball_groups.adapters.database import Engine, make_engine
from playball_groups.adapters.migrate import upgrade
from playball_groups.adapters.tables import processed_events
from playball_groups.adapters.unit_of_work import SqlUnitOfWork, repositories_on
from playball_groups.service_layer.unit_of_work import Repositories, UnitOfWork
from playball_stack.settings import StackSettings
from support.databases import fresh_postgres, sqlite_url
from support.principals import principal_environment
from support.tokens import Issuer, jwks_server

from groups.fakes import FakeProcessedEvents, FakeUnitOfWork, Store, fake_repositories

UnitOfWorkFactory = Callable[[], UnitOfWork]
RepositoriesOn = Callable[[Any], Repositories]  # the repositories on the loop's transaction


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(sqlite_url(tmp_path_factory.mktemp("groups")))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["postgres", "sqlite"])
def engine_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, str]]:
    """A fresh, migrated groups database per test, on each backend: (engine, its URL)."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("groups-db"))
        engine = make_engine(url)
        upgrade(engine)
        yield engine, url
        engine.dispose()
        return
    with fresh_postgres(request.getfixturevalue("database_url"), "playball_groups") as url:
        engine = make_engine(url)
        upgrade(engine)
        yield engine, url
        engine.dispose()


@pytest.fixture(scope="module")
def postgres_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    server: str = request.getfixturevalue("database_url")
    with fresh_postgres(server, "playball_groups") as url:
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


@pytest.fixture(
    scope="module",
    params=[
        "fake",
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.stack),
    ],
)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def store() -> Store:
    """The fake backend's database (one per module, as the SQL backends' engines)."""
    return Store()


@pytest.fixture(scope="module")
def unit_of_work(backend: str, request: pytest.FixtureRequest, store: Store) -> UnitOfWorkFactory:
    """A factory of units of work on the backend under test (state shared per module)."""
    if backend == "fake":
        return lambda: FakeUnitOfWork(store)
    engine: Engine = request.getfixturevalue(f"{backend}_engine")
    return lambda: SqlUnitOfWork(engine)


@pytest.fixture(scope="module")
def processed(backend: str, request: pytest.FixtureRequest, store: Store) -> ProcessedEvents[Any]:
    """The consumer loop's claim and transaction on the backend under test."""
    if backend == "fake":
        return FakeProcessedEvents(store)
    engine: Engine = request.getfixturevalue(f"{backend}_engine")
    return SqlProcessedEvents(engine, processed_events)


@pytest.fixture(scope="module")
def repositories(backend: str) -> RepositoriesOn:
    return fake_repositories if backend == "fake" else repositories_on


@pytest.fixture(scope="session")
def consumer_principal(stack: StackSettings) -> dict[str, str]:
    """The Kafka variables of a consumer process: it runs as ``groups-consumer``."""
    return principal_environment(stack, local_stack.KAFKA_CONSUMER)


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with jwks_server() as issuer:
        yield issuer
