"""The OAuth2 endpoints: ``POST /token`` (password and refresh-token grants) and
``POST /logout`` (revoking a refresh token's chain, RFC 7009).

Malformed token requests answer 400 in OAuth2's shape, ``{detail, code, error}`` with
``error`` one of RFC 6749's codes; wrong credentials stay a 401 ``invalid_credentials``.
"""

from typing import Annotated

from fastapi import FastAPI, Form, Request, Response, status
from fastapi.responses import JSONResponse

from playball_auth.entrypoints import client_address
from playball_auth.entrypoints.responses import errors, oauth_errors
from playball_auth.entrypoints.schemas import OAuthErrorBody, TokenOut
from playball_auth.service_layer import grants
from playball_auth.service_layer.errors import InvalidGrantError
from playball_auth.service_layer.ports import AuthPorts, Scope

# Form fields: bounded, but any text (a wrong value is a 401 or a 400, not a 422)
FORM_FIELD_MAX = 256
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1
SCOPES: dict[str, Scope] = {"groups": "groups", "account": "account"}


class OAuthError(Exception):
    """A 400 of the token endpoint; ``error`` is RFC 6749's code, also the ``code``."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail


def _scope(requested: str | None) -> Scope:
    """One scope, ``groups`` by default: a token has one audience."""
    names = (requested or "").split()
    if not names:
        return "groups"
    if len(names) == 1 and names[0] in SCOPES:
        return SCOPES[names[0]]
    raise OAuthError("invalid_scope", "scope must be one of: groups, account")


def _password_grant(
    ports: AuthPorts,
    username: str | None,
    password: str | None,
    scope: str | None,
    address: str | None,
) -> grants.TokenGrant:
    if username is None or password is None:
        raise OAuthError("invalid_request", "username and password are required")
    return grants.password_grant(
        ports, username=username, password=password, scope=_scope(scope), address=address
    )


def _refresh_grant(
    ports: AuthPorts, refresh_token: str | None, scope: str | None
) -> grants.TokenGrant:
    if refresh_token is None:
        raise OAuthError("invalid_request", "refresh_token is required")
    if _scope(scope) != "groups":
        raise OAuthError("invalid_scope", "a refresh token gives groups tokens only")
    try:
        return grants.refresh_grant(ports, refresh_token=refresh_token)
    except InvalidGrantError as exc:
        raise OAuthError("invalid_grant", str(exc)) from None


def _token_out(response: Response, grant: grants.TokenGrant) -> TokenOut:
    response.headers.update(NO_STORE)
    return TokenOut(
        access_token=grant.access_token,
        expires_in=grant.expires_in,
        scope=grant.scope,
        refresh_token=grant.refresh_token,
    )


FormText = Annotated[str | None, Form(max_length=FORM_FIELD_MAX)]


def install(app: FastAPI, ports: AuthPorts) -> None:
    @app.exception_handler(OAuthError)
    async def _oauth_error(_request: Request, exc: OAuthError) -> JSONResponse:
        body = OAuthErrorBody(detail=exc.detail, code=exc.error, error=exc.error)
        return JSONResponse(body.model_dump(), status_code=400, headers=NO_STORE)

    @app.post(
        "/token",
        response_model=TokenOut,
        response_model_exclude_none=True,
        responses=oauth_errors(401, 429, 503),
        summary="Get tokens (OAuth2 password or refresh-token grant)",
        description="grant_type=password (default) with username, password and scope "
        "(groups, the default: a groups token and a refresh token; account: a 300 s "
        "token for /users/me); grant_type=refresh_token with refresh_token: a new pair "
        "of groups tokens, the refresh token spent.",
    )
    def token(
        request: Request,
        response: Response,
        *,
        grant_type: Annotated[str, Form(max_length=FORM_FIELD_MAX)] = "password",
        username: FormText = None,
        password: FormText = None,
        scope: FormText = None,
        refresh_token: FormText = None,
    ) -> TokenOut:
        if grant_type == "password":
            address = client_address.of_request(request, ports.trusted_proxies)
            grant = _password_grant(ports, username, password, scope, address)
        elif grant_type == "refresh_token":
            grant = _refresh_grant(ports, refresh_token, scope)
        else:
            raise OAuthError(
                "unsupported_grant_type", "grant_type must be password or refresh_token"
            )
        return _token_out(response, grant)

    @app.post(
        "/logout",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=errors(503),
        summary="Revoke a refresh token and every token of its chain (RFC 7009)",
        description="204 whether the token was known or not.",
    )
    def logout(
        refresh_token: Annotated[str, Form(min_length=1, max_length=FORM_FIELD_MAX)],
    ) -> Response:
        grants.logout(ports, refresh_token=refresh_token)
        return Response(status_code=status.HTTP_204_NO_CONTENT)
