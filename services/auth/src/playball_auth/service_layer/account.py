"""The caller's own account (``/users/me``), behind an account access token.

The token's credentials version must still be the user's: a password change makes every
token issued before it stale here at once. Changing the email or the password, and
deleting the account, also need the current password (see :func:`.login.reauthenticate`).
"""

import uuid
from dataclasses import dataclass

from playball_auth.service_layer import handlers, login
from playball_auth.service_layer.credentials import Reauthenticated
from playball_auth.service_layer.handlers import ProfileChanges, UserSnapshot
from playball_auth.service_layer.ports import AuthPorts


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a verified account token says is calling, and from where."""

    user_id: uuid.UUID
    credentials_version: int
    address: str | None


def show(ports: AuthPorts, caller: Caller) -> UserSnapshot:
    return handlers.get_user(
        ports.uow_factory, caller.user_id, credentials_version=caller.credentials_version
    )


def change(
    ports: AuthPorts, caller: Caller, changes: ProfileChanges, current_password: str | None
) -> UserSnapshot:
    proof = None
    if changes.needs_reauthentication:
        proof = _reauthenticate(ports, caller, current_password)
    return handlers.update_profile(
        ports.uow_factory,
        ports.passwords,
        caller.user_id,
        changes,
        reauthenticated=proof,
        credentials_version=caller.credentials_version,
    )


def delete(ports: AuthPorts, caller: Caller, current_password: str | None) -> None:
    handlers.delete_user(
        ports.uow_factory,
        caller.user_id,
        reauthenticated=_reauthenticate(ports, caller, current_password),
        credentials_version=caller.credentials_version,
    )


def _reauthenticate(
    ports: AuthPorts, caller: Caller, current_password: str | None
) -> Reauthenticated:
    return login.reauthenticate(
        ports,
        user_id=caller.user_id,
        credentials_version=caller.credentials_version,
        password=current_password,
        address=caller.address,
    )
