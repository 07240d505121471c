"""The unit of work port: one transaction over the users and the outbox."""

from playball_service_kit import unit_of_work as service_kit

from playball_auth.service_layer.ports import Outbox, RefreshTokenRepository, UserRepository


class UnitOfWork(service_kit.UnitOfWork):
    """``with uow: ...; uow.commit()``. Leaving the block without commit rolls back.

    ``commit`` raises :class:`~.errors.UniqueViolation` or :class:`~.errors.StaleUser`
    when the database refuses the change; the transaction is then rolled back.
    """

    users: UserRepository
    outbox: Outbox
    refresh_tokens: RefreshTokenRepository
