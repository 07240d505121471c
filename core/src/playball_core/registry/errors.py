"""Why a registry call failed; each message names the registry URL and the subject or id."""

from playball_core.credentials import CredentialsRefusedError
from playball_core.exits import DependencyUnreachableError


class RegistryError(Exception):
    """Base of every registry failure."""


class RegistryUnreachableError(RegistryError, DependencyUnreachableError):
    """No answer: connection refused, timeout, DNS. Worth retrying; CLI exit code 3."""


class RegistryCredentialsRefusedError(RegistryUnreachableError, CredentialsRefusedError):
    """HTTP 401 or 403: the registry refused the configured credentials (or their absence).

    An "unreachable" kind, so whatever handles an unreachable registry (exit 3, a retry)
    handles it too; but it is raised through :func:`playball_core.credentials.refused`,
    so a service ends instead of retrying.
    """


class RegistryResponseError(RegistryError):
    """The registry answered something we cannot use (a wrong URL, a server error).

    ``status_code`` is the answer's HTTP status (None when not known), so a consumer can
    retry a 429 or 5xx and treat the rest as final.
    """

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class IncompatibleSchemaError(RegistryError):
    """A registration was refused as incompatible (HTTP 409); ``reasons`` as the registry gave."""

    def __init__(self, message: str, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reasons = reasons


class InvalidSchemaError(RegistryError):
    """The registry refused the schema text itself (HTTP 422)."""


class UnknownSchemaIdError(RegistryError):
    """No schema has this id."""
