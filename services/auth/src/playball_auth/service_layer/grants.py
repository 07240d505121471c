"""The token endpoint's grants (OAuth2): the password grant, the refresh-token grant, and
revoking a refresh token's chain (logout).

Two scopes: ``groups`` tokens are for the groups service and come with a refresh token;
``account`` tokens are for auth's own account endpoints, live 300 s and never come with
a refresh token, so changing the account always starts from the password.
"""

import uuid
from dataclasses import dataclass

from playball_auth.service_layer import login, refresh
from playball_auth.service_layer.ports import AuthPorts, Scope


@dataclass(frozen=True, slots=True)
class TokenGrant:
    access_token: str
    expires_in: int
    scope: Scope
    refresh_token: str | None


def password_grant(
    ports: AuthPorts, *, username: str, password: str, scope: Scope, address: str | None
) -> TokenGrant:
    """Throttled login (see :func:`.login.login`), then the scope's tokens."""
    user = login.login(ports, username=username, password=password, address=address)
    refresh_token = None
    if scope == "groups":
        with ports.uow_factory() as uow:
            refresh_token = refresh.add_token(
                uow.refresh_tokens,
                user.id,
                uuid.uuid4(),
                ports.clock(),
                ports.refresh_ttl,
                # the version the password was checked against: a change since kills it
                credentials_version=user.credentials_version,
            )
            uow.commit()
    issued = ports.tokens.issue(user.id, scope=scope, credentials_version=user.credentials_version)
    return TokenGrant(issued.access_token, issued.expires_in, scope, refresh_token)


def refresh_grant(ports: AuthPorts, *, refresh_token: str) -> TokenGrant:
    """A new pair of groups tokens for a refresh token, which is spent (see
    :func:`.refresh.rotate`)."""
    with ports.uow_factory() as uow:
        rotated = refresh.rotate(uow, refresh_token, ports.clock(), ports.refresh_ttl)
    issued = ports.tokens.issue(
        rotated.user_id, scope="groups", credentials_version=rotated.credentials_version
    )
    return TokenGrant(issued.access_token, issued.expires_in, "groups", rotated.refresh_token)


def logout(ports: AuthPorts, *, refresh_token: str) -> None:
    with ports.uow_factory() as uow:
        refresh.revoke(uow, refresh_token, ports.clock())
