"""What a use case can refuse, in the service's words (the API maps each to a status)."""


class AuthError(Exception):
    """Base of the refusals below; ``code`` is the machine-readable reason."""

    code = "auth_error"


class UsernameTakenError(AuthError):
    code = "username_taken"


class EmailTakenError(AuthError):
    code = "email_taken"


class InvalidCredentialsError(AuthError):
    """Unknown user or wrong password: deliberately not saying which."""

    code = "invalid_credentials"


class UnknownUserError(AuthError):
    """The user does not exist (any more)."""

    code = "unknown_user"


class ConcurrentUpdateError(AuthError):
    """The user kept changing under us; the caller may retry."""

    code = "concurrent_update"


class UniqueViolation(Exception):  # noqa: N818 - names the database condition
    """Port-level: a commit hit a unique key (raised by a unit of work)."""


class StaleUser(Exception):  # noqa: N818 - names the database condition
    """Port-level: a commit changed a user another transaction changed first."""


class StorageUnavailableError(AuthError):
    """The database cannot be reached; the request may succeed later."""

    code = "database_unavailable"
