"""``/users/me``: the caller's own account, behind an account token.

Only tokens of scope ``account`` (audience ``playball-auth``) are accepted here: a groups
token, which the groups service has seen and any of its components could leak, cannot
touch the account. A token issued before the last password change is refused (401) too.
"""

from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response, status
from fastapi.security import OAuth2PasswordBearer
from playball_service_kit.api_errors import ApiError
from playball_service_kit.worker_threads import WorkerThreads

from playball_auth.entrypoints import client_address
from playball_auth.entrypoints.invalid_input import INVALID_INPUT
from playball_auth.entrypoints.responses import errors
from playball_auth.entrypoints.schemas import AccountDeletion, ProfilePatch, UserOut
from playball_auth.service_layer import account
from playball_auth.service_layer.handlers import ProfileChanges, UserSnapshot
from playball_auth.service_layer.ports import AuthPorts, InvalidTokenError

BEARER = {"WWW-Authenticate": "Bearer"}
# on the answer to a password change: every token of the account is revoked now (the
# one just used included), so the client must log in again
LOGIN_REQUIRED = "Login-Required"
_LOGIN_REQUIRED_HEADER = {
    LOGIN_REQUIRED: {
        "description": "`true` after a password change: every access and refresh token of "
        "the account was revoked, this one included; log in again",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def _user_response(user: UserSnapshot) -> Response:
    """What FastAPI answers for a ``UserOut`` (the routes declare it as their model).

    The routes are async and take a worker thread only for the use case: a sync route
    cost two trips through the thread pool per request (the second to validate the
    returned model), and the returned snapshot needs no validation
    (:meth:`UserOut.json_of`).
    """
    return Response(UserOut.json_of(user), media_type="application/json")


def install(app: FastAPI, ports: AuthPorts, workers: WorkerThreads) -> None:
    bearer = OAuth2PasswordBearer(
        tokenUrl="token",
        scopes={"account": "this account (/users/me)", "groups": "the groups service"},
        auto_error=False,
    )

    # async: checking a token is CPU work only (its signature is checked once, then
    # remembered), so it runs on the event loop; a sync dependency would cost every
    # request a second trip through the thread pool. The credentials version is checked
    # against the user row by the use case, in the request's own transaction.
    async def caller(
        request: Request, token: Annotated[str | None, Depends(bearer)]
    ) -> account.Caller:
        if token is None:
            raise ApiError(401, "not_authenticated", "a bearer token is required", BEARER)
        try:
            claims = ports.tokens.verify(token, scope="account")
        except InvalidTokenError:
            raise ApiError(401, "invalid_token", "invalid or expired token", BEARER) from None
        return account.Caller(
            user_id=claims.user_id,
            credentials_version=claims.credentials_version,
            address=client_address.of_request(request, ports.trusted_proxies),
        )

    Caller = Annotated[account.Caller, Depends(caller)]  # noqa: N806 - a type alias

    @app.get(
        "/users/me",
        response_model=UserOut,
        responses=errors(401, 503),
        summary="The caller (an account token)",
    )
    async def me(who: Caller) -> Response:
        return _user_response(await workers.run(account.show, ports, who))

    @app.patch(
        "/users/me",
        response_model=UserOut,
        responses={
            200: {"headers": _LOGIN_REQUIRED_HEADER},
            **errors(400, 401, 403, 409, 429, 503),
            **INVALID_INPUT,
        },
        summary="Change display name, email or password (an account token)",
        description="A new email or password needs current_password. After a password "
        "change every token of the account is revoked and the answer says Login-Required.",
    )
    async def patch_me(who: Caller, body: ProfilePatch) -> Response:
        changes = ProfileChanges(
            display_name=body.display_name, email=body.email, password=body.password
        )
        user = await workers.run(account.change, ports, who, changes, body.current_password)
        response = _user_response(user)
        if changes.password is not None:
            response.headers[LOGIN_REQUIRED] = "true"
        return response

    @app.delete(
        "/users/me",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses={**errors(400, 401, 403, 409, 429, 503), **INVALID_INPUT},
        summary="Delete the caller's account (an account token and current_password)",
    )
    def delete_me(who: Caller, body: AccountDeletion | None = None) -> Response:
        account.delete(ports, who, body.current_password if body is not None else None)
        return Response(status_code=status.HTTP_204_NO_CONTENT)
