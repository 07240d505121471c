"""The auth service's storage behind one interface, for suites run on every backend:
the fakes, SQLite and PostgreSQL. Tests ask it what was committed."""

import uuid
from collections.abc import Callable
from typing import Any

from playball_auth.adapters.database_sql import session_factory
from playball_auth.adapters.orm_sql import (
    login_failures_by_address,
    login_throttle_accounts,
    outbox,
    refresh_tokens,
    users,
)
from playball_auth.adapters.throttle_sql import SqlLoginThrottle
from playball_auth.adapters.unit_of_work_sql import SqlUnitOfWork
from playball_auth.adapters.user_events_sql import outbox_event
from playball_auth.domain.throttle import ThrottlePolicy
from playball_auth.service_layer.ports import LoginThrottle
from playball_auth.service_layer.unit_of_work import UnitOfWork
from playball_events.outbox.model import NewOutboxEvent
from playball_events.settings import with_database
from playball_events.utc_sql import as_utc
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from support.auth_fakes import FakeLoginThrottle, FakeStore, FakeUnitOfWork
from support.databases import drop_database as drop_test_database

ISSUER = "http://testserver"  # the iss of the test apps' tokens


# An outbox row as the tests read it back: exactly what the writer inserted.
OutboxRow = NewOutboxEvent


def drop_database(server_url: str, name: str) -> None:
    """Drop a test database, disconnecting whatever still holds it."""
    drop_test_database(with_database(server_url, name))


class AuthBackend:
    name: str
    uow_factory: Callable[[], UnitOfWork]

    def throttle(self, policy: ThrottlePolicy | None = None) -> LoginThrottle:
        """The backend's login throttle (its state shared with every other one made)."""
        raise NotImplementedError

    def outbox_rows(self, user_id: uuid.UUID | None = None) -> list[OutboxRow]:
        raise NotImplementedError

    def user_ids(self) -> set[uuid.UUID]:
        raise NotImplementedError

    def password_hash(self, user_id: uuid.UUID) -> str:
        raise NotImplementedError


class FakeBackend(AuthBackend):
    name = "fake"

    def __init__(self) -> None:
        self.store = FakeStore()
        self.uow_factory = lambda: FakeUnitOfWork(self.store)
        self.throttles: list[FakeLoginThrottle] = []

    def throttle(self, policy: ThrottlePolicy | None = None) -> LoginThrottle:
        made = FakeLoginThrottle(policy)
        if self.throttles:  # one state, as in the database
            made.accounts = self.throttles[0].accounts
            made.address_failures = self.throttles[0].address_failures
        self.throttles.append(made)
        return made

    def outbox_rows(self, user_id: uuid.UUID | None = None) -> list[OutboxRow]:
        """The rows the SQL adapter would write for the events the fakes committed."""
        return [outbox_event(e) for e in self.store.outbox if user_id in (None, e.user_id)]

    def user_ids(self) -> set[uuid.UUID]:
        return set(self.store.users)

    def password_hash(self, user_id: uuid.UUID) -> str:
        return self.store.users[user_id].password_hash


class SqlBackend(AuthBackend):
    def __init__(self, name: str, engine: Engine, sessions: "sessionmaker[Session]") -> None:
        self.name = name
        self.engine = engine
        self.sessions = sessions
        self.uow_factory = lambda: SqlUnitOfWork(sessions)

    def throttle(self, policy: ThrottlePolicy | None = None) -> LoginThrottle:
        return SqlLoginThrottle(self.engine, policy or ThrottlePolicy())

    def clear(self) -> None:
        with self.engine.begin() as conn:
            for table in (
                outbox,
                users,
                refresh_tokens,
                login_throttle_accounts,
                login_failures_by_address,
            ):
                conn.execute(delete(table))

    def outbox_rows(self, user_id: uuid.UUID | None = None) -> list[OutboxRow]:
        query = select(outbox).order_by(outbox.c.seq)
        if user_id is not None:
            query = query.where(outbox.c.aggregate_id == str(user_id))
        with self.engine.connect() as conn:
            rows: list[Any] = list(conn.execute(query).mappings())
        return [
            OutboxRow(
                event_id=r["event_id"],
                aggregate_id=r["aggregate_id"],
                aggregate_version=r["aggregate_version"],
                record_type=r["record_type"],
                topic=r["topic"],
                subject=r["subject"],
                payload=r["payload"],
                schema_fingerprint=r["schema_fingerprint"],
                headers=r["headers"],
                created_at=as_utc(r["created_at"]),
            )
            for r in rows
        ]

    def user_ids(self) -> set[uuid.UUID]:
        with self.engine.connect() as conn:
            return set(conn.scalars(select(users.c.id)))

    def password_hash(self, user_id: uuid.UUID) -> str:
        with self.engine.connect() as conn:
            found = conn.scalar(select(users.c.password_hash).where(users.c.id == user_id))
        assert isinstance(found, str)
        return found


def sql_backend_for(name: str, request: Any) -> SqlBackend:
    """The ``sqlite`` or ``postgresql`` backend of a test (a pytest request), emptied."""
    fixture = "pg_engine" if name == "postgresql" else "sqlite_engine"
    engine: Engine = request.getfixturevalue(fixture)
    backend = SqlBackend(name, engine, session_factory(engine))
    backend.clear()
    return backend
