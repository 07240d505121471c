"""Proving a password under the login throttle: a login, and a re-authentication.

The throttle is asked first: during a lock (of the account, or of the client's address)
the attempt is refused with :class:`TooManyAttemptsError` without being verified, so it
costs no argon2 work and is not counted. A wrong password is then recorded as a failure;
a right one ends the account's run of failures.
"""

import uuid

from playball_auth.service_layer import credentials, handlers
from playball_auth.service_layer.credentials import Reauthenticated
from playball_auth.service_layer.errors import (
    InvalidCredentialsError,
    ReauthenticationRequiredError,
    TooManyAttemptsError,
)
from playball_auth.service_layer.handlers import UserSnapshot
from playball_auth.service_layer.ports import AuthPorts


def _refuse_if_throttled(ports: AuthPorts, key: str | None, address: str | None) -> None:
    wait = ports.throttle.retry_after(key, address, ports.clock())
    if wait is not None:
        raise TooManyAttemptsError(wait)


def login(ports: AuthPorts, *, username: str, password: str, address: str | None) -> UserSnapshot:
    """The user whose credentials these are, from the client at ``address``."""
    key = credentials.throttle_key(username)
    _refuse_if_throttled(ports, key, address)
    try:
        user = handlers.authenticate(
            ports.uow_factory, ports.passwords, username=username, password=password
        )
    except InvalidCredentialsError:
        ports.throttle.record_failure(key, address, ports.clock())
        raise
    if key is not None:
        ports.throttle.record_success(key)
    return user


def reauthenticate(
    ports: AuthPorts,
    *,
    user_id: uuid.UUID,
    credentials_version: int,
    password: str | None,
    address: str | None,
) -> Reauthenticated:
    """Proof that the holder of this user's access token also knows the password.

    Missing or wrong: :class:`ReauthenticationRequiredError`; a wrong one counts as a
    failed login of the account (so a stolen token cannot be used to guess the password
    faster than the login form allows), and a locked account is refused as at login.
    """
    if password is None:
        raise ReauthenticationRequiredError("current_password is required for this change")
    with ports.uow_factory() as uow:
        user = handlers.current_user(uow, user_id, credentials_version)
        username, password_hash = user.username, user.password_hash
    key = credentials.throttle_key(username)
    _refuse_if_throttled(ports, key, address)
    checked = credentials.Check.WRONG
    if credentials.plausible_password(password):
        checked = credentials.check(ports.passwords, password_hash, password)
    if checked is credentials.Check.WRONG:
        ports.throttle.record_failure(key, address, ports.clock())
        raise ReauthenticationRequiredError("current_password is wrong")
    if key is not None:
        ports.throttle.record_success(key)
    return Reauthenticated(user_id)
