"""The unit of work on a SQLAlchemy session: one transaction, users and outbox together."""

from types import TracebackType
from typing import Self

from playball_service_kit.database_sql import is_disconnect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from playball_auth.adapters.repository_sql import SqlOutbox, SqlUserRepository
from playball_auth.service_layer.errors import StaleUser, StorageUnavailableError, UniqueViolation
from playball_auth.service_layer.unit_of_work import UnitOfWork

_UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE


def _is_unique_violation(exc: IntegrityError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate == _UNIQUE_VIOLATION or "UNIQUE constraint failed" in str(exc.orig)


class SqlUnitOfWork(UnitOfWork):
    """Sessions come from a factory the outbox writer is installed on (bootstrap does it)."""

    def __init__(self, session_factory: "sessionmaker[Session]") -> None:
        self.session_factory = session_factory
        self.session: Session | None = None

    def __enter__(self) -> Self:
        self.session = self.session_factory()
        self.users = SqlUserRepository(self.session)
        self.outbox = SqlOutbox(self.session)
        return super().__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._session()
        self.session = None
        try:
            session.rollback()
            session.close()
        except DBAPIError:
            session.invalidate()  # the connection is gone; nothing to roll back
        if is_disconnect(exc):
            msg = "the auth database is unavailable"
            raise StorageUnavailableError(msg) from exc

    def _session(self) -> Session:
        if self.session is None:
            msg = "the unit of work is used outside its with block"
            raise RuntimeError(msg)
        return self.session

    def commit(self) -> None:
        session = self._session()
        try:
            session.commit()
        except IntegrityError as exc:
            session.rollback()
            if not _is_unique_violation(exc):
                raise
            raise UniqueViolation(str(exc.orig)) from exc
        except StaleDataError as exc:
            session.rollback()
            raise StaleUser(str(exc)) from exc

    def rollback(self) -> None:
        self._session().rollback()
