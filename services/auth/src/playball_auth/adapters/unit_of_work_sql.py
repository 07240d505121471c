"""The unit of work on a SQLAlchemy session: one transaction, users and outbox together."""

from typing import Any, Self

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from playball_auth.adapters.repository_sql import SqlOutbox, SqlUserRepository
from playball_auth.service_layer.errors import StaleUser, UniqueViolation
from playball_auth.service_layer.unit_of_work import UnitOfWork


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

    def __exit__(self, *args: Any) -> None:
        super().__exit__(*args)
        assert self.session is not None
        self.session.close()
        self.session = None

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
            raise UniqueViolation(str(exc.orig)) from exc
        except StaleDataError as exc:
            session.rollback()
            raise StaleUser(str(exc)) from exc

    def rollback(self) -> None:
        self._session().rollback()
