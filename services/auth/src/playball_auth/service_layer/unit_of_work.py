"""The unit of work port: one transaction over the users and the outbox."""

import abc
from types import TracebackType
from typing import Self

from playball_auth.service_layer.ports import Outbox, UserRepository


class UnitOfWork(abc.ABC):
    """``with uow: ...; uow.commit()``. Leaving the block without commit rolls back.

    ``commit`` raises :class:`~.errors.UniqueViolation` or :class:`~.errors.StaleUser`
    when the database refuses the change; the transaction is then rolled back.
    """

    users: UserRepository
    outbox: Outbox

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...
