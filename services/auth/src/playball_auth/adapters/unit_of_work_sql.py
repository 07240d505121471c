"""The unit of work on a SQLAlchemy session: one transaction over the users, the outbox
and the refresh tokens."""

from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from playball_auth.adapters.refresh_tokens_sql import SqlRefreshTokenRepository
from playball_auth.adapters.repository_sql import SqlOutbox, SqlUserRepository
from playball_auth.adapters.storage_errors_sql import storage_error
from playball_auth.service_layer.errors import StaleUser, UniqueViolation
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
        self.refresh_tokens = SqlRefreshTokenRepository(self.session)
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
        translated = storage_error(exc)
        if translated is not None:
            raise translated from exc

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
