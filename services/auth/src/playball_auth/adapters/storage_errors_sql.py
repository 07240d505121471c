"""The database failures a request may simply retry, in the service layer's words.

Shared by the unit of work and the login throttle (which runs its own short
transactions on the engine): the API answers both with a 503, never a 500.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from playball_service_kit.database_sql import is_disconnect
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from playball_auth.service_layer.errors import (
    AuthError,
    DatabaseBusyError,
    StorageUnavailableError,
)


def storage_error(exc: BaseException | None) -> AuthError | None:
    """What ``exc`` means to a caller, if it is a retryable database failure."""
    if isinstance(exc, PoolTimeoutError):
        # every pooled connection stayed busy for the pool's timeout: load, not an outage
        return DatabaseBusyError("the auth database is busy; try again shortly")
    if is_disconnect(exc):
        return StorageUnavailableError("the auth database is unavailable")
    return None


@contextmanager
def translated_storage_errors() -> Iterator[None]:
    """Re-raise retryable database failures as :func:`storage_error` names them."""
    try:
        yield
    except Exception as exc:
        translated = storage_error(exc)
        if translated is None:
            raise
        raise translated from exc
