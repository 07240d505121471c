"""The SQL unit of work (one connection, one transaction) and the repositories on a
connection someone else commits (the consumer loop's transaction)."""

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from playball_groups.adapters.groups_sql import SqlGroups
from playball_groups.adapters.user_view_sql import SqlUserView
from playball_groups.service_layer.unit_of_work import (
    DatabaseBusyError,
    Repositories,
    UnitOfWork,
)


def repositories_on(connection: Connection) -> Repositories:
    return Repositories(users=SqlUserView(connection), groups=SqlGroups(connection))


class SqlUnitOfWork(UnitOfWork):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def __enter__(self) -> Self:
        try:
            self._connection = self._engine.connect()
        except PoolTimeoutError as exc:  # the pool's wait for a free connection ran out
            raise DatabaseBusyError(str(exc)) from exc
        self._connection.begin()
        self.users = SqlUserView(self._connection)
        self.groups = SqlGroups(self._connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def commit(self) -> None:
        assert self._connection is not None, "commit outside the unit of work's block"
        self._connection.commit()

    def rollback(self) -> None:
        if self._connection is not None and self._connection.in_transaction():
            self._connection.rollback()
