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


class DatabaseBusyError(AuthError):
    """Every pooled database connection stayed in use for the pool's timeout: the request
    may succeed a moment later (the API answers 503 with Retry-After)."""

    code = "database_busy"


class HashingBusyError(AuthError):
    """Every password-hashing slot is taken. Refused at once rather than queued: a queue
    of argon2 work would only make every waiting request slower."""

    code = "busy"


class TooManyAttemptsError(AuthError):
    """Login throttling: too many failed attempts for the account or from the address.
    The attempt was neither verified nor counted."""

    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed attempts; try again in {retry_after} s")
        self.retry_after = retry_after


class ReauthenticationRequiredError(AuthError):
    """A change of password or email, or a deletion, without the right current password."""

    code = "reauthentication_required"


class StaleCredentialsError(AuthError):
    """An access token issued before the user's last password change (its ``cv`` is
    stale): refused like an expired token."""

    code = "invalid_token"


class InvalidGrantError(AuthError):
    """A refresh token that is unknown, expired, revoked or already spent (OAuth2's
    ``invalid_grant``)."""

    code = "invalid_grant"
