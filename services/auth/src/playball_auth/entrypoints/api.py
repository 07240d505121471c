"""The auth HTTP API (FastAPI). :func:`create_app` takes the ports, so tests run it on fakes.

Every status an operation returns is declared in its ``responses`` (the OpenAPI is what
clients and schemathesis hold it to). Errors are ``{"detail", "code"}``; a 422 keeps
FastAPI's validation shape.
"""

import json
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import OAuth2PasswordBearer
from opentelemetry import context, propagate
from playball_service_kit.api_errors import (
    ApiError,
    ErrorBody,
    error_response,
    install_error_handlers,
)

from playball_auth.entrypoints.schemas import (
    Health,
    Jwks,
    NewUser,
    ProfilePatch,
    TokenOut,
    UserOut,
)
from playball_auth.service_layer import handlers
from playball_auth.service_layer.errors import (
    AuthError,
    ConcurrentUpdateError,
    EmailTakenError,
    InvalidCredentialsError,
    StorageUnavailableError,
    UnknownUserError,
    UsernameTakenError,
)
from playball_auth.service_layer.ports import AuthPorts, InvalidTokenError

# Form fields of the token request: bounded, but any text (wrong is a 401, not a 422)
FORM_FIELD_MAX = 256
BEARER = {"WWW-Authenticate": "Bearer"}


_STATUS_OF: dict[type[AuthError], int] = {
    UsernameTakenError: status.HTTP_409_CONFLICT,
    EmailTakenError: status.HTTP_409_CONFLICT,
    ConcurrentUpdateError: status.HTTP_409_CONFLICT,
    InvalidCredentialsError: status.HTTP_401_UNAUTHORIZED,
    StorageUnavailableError: status.HTTP_503_SERVICE_UNAVAILABLE,
    UnknownUserError: status.HTTP_401_UNAUTHORIZED,  # a token of a deleted user
}

_DESCRIPTIONS = {
    400: "the body cannot be parsed at all (not UTF-8, say)",
    401: "missing, invalid or expired token (or wrong credentials on /token)",
    409: "username_taken, email_taken, or concurrent_update",
    503: "database_unavailable: the database is unreachable; try again later",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}


class _AsciiJSONResponse(JSONResponse):
    """JSON escaped to ASCII: a 422 echoes the input, which may hold lone surrogates that
    UTF-8 cannot encode (rendering them would be a 500)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode()


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        item = {key: value for key, value in error.items() if key != "url"}
        if item.get("loc") and item["loc"][-1] == "password":
            item["input"] = "<redacted>"  # never echo a password
        if "ctx" in item:  # may hold exception objects
            item["ctx"] = {key: str(value) for key, value in item["ctx"].items()}
        errors.append(item)
    return errors


class TraceContextMiddleware:
    """Makes the caller's W3C trace context (``traceparent``) current during a request,
    so the outbox rows the request writes carry it on to the consumers."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        token = context.attach(propagate.extract(carrier))
        try:
            await self.app(scope, receive, send)
        finally:
            context.detach(token)


def create_app(ports: AuthPorts) -> FastAPI:
    app = FastAPI(
        title="PlayBall auth",
        version="1.0.0",
        description="User accounts and access tokens. Tokens are RS256 JWTs for the "
        "audience playball-groups; verify them with GET /.well-known/jwks.json.",
    )
    app.add_middleware(TraceContextMiddleware)
    bearer = OAuth2PasswordBearer(tokenUrl="token", auto_error=False)

    install_error_handlers(app, unparsable_body="malformed_body")

    @app.exception_handler(AuthError)
    async def _auth_error(_request: Request, exc: AuthError) -> JSONResponse:
        code = _STATUS_OF.get(type(exc), status.HTTP_400_BAD_REQUEST)
        headers = BEARER if code == status.HTTP_401_UNAUTHORIZED else None
        detail = "invalid or expired token" if isinstance(exc, UnknownUserError) else str(exc)
        code_name = "invalid_token" if isinstance(exc, UnknownUserError) else exc.code
        return error_response(code, detail, code_name, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _AsciiJSONResponse(
            {"detail": _validation_errors(exc)},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    def current_user_id(token: Annotated[str | None, Depends(bearer)]) -> uuid.UUID:
        if token is None:
            raise ApiError(401, "not_authenticated", "a bearer token is required", BEARER)
        try:
            return ports.tokens.verify(token)
        except InvalidTokenError:
            raise ApiError(401, "invalid_token", "invalid or expired token", BEARER) from None

    CurrentUserId = Annotated[uuid.UUID, Depends(current_user_id)]  # noqa: N806 - a type alias

    @app.post(
        "/users",
        status_code=status.HTTP_201_CREATED,
        response_model=UserOut,
        responses=_errors(400, 409, 503),
        summary="Register a user",
    )
    def register(body: NewUser) -> UserOut:
        user = handlers.register_user(
            ports.uow_factory,
            ports.passwords,
            username=body.username,
            email=body.email,
            password=body.password,
            display_name=body.display_name,
        )
        return UserOut.of(user)

    @app.post(
        "/token",
        response_model=TokenOut,
        responses=_errors(400, 401, 503),
        summary="Get an access token (OAuth2 password flow)",
    )
    def token(
        response: Response,
        username: Annotated[str, Form(max_length=FORM_FIELD_MAX)],
        password: Annotated[str, Form(max_length=FORM_FIELD_MAX)],
        grant_type: Annotated[str, Form(pattern="^password$")] = "password",  # noqa: ARG001
    ) -> TokenOut:
        try:
            user = handlers.authenticate(
                ports.uow_factory, ports.passwords, username=username, password=password
            )
        except InvalidCredentialsError as exc:
            raise ApiError(401, exc.code, str(exc), BEARER) from None
        issued = ports.tokens.issue(user.id)
        response.headers["Cache-Control"] = "no-store"
        return TokenOut(access_token=issued.access_token, expires_in=issued.expires_in)

    @app.get("/.well-known/jwks.json", response_model=Jwks, summary="Token signing keys")
    def jwks() -> dict[str, Any]:
        return ports.tokens.jwks()

    @app.get("/users/me", response_model=UserOut, responses=_errors(401, 503), summary="The caller")
    def me(user_id: CurrentUserId) -> UserOut:
        return UserOut.of(handlers.get_user(ports.uow_factory, user_id))

    @app.patch(
        "/users/me",
        response_model=UserOut,
        responses=_errors(400, 401, 409, 503),
        summary="Change display name, email or password",
    )
    def patch_me(user_id: CurrentUserId, body: ProfilePatch) -> UserOut:
        changes = handlers.ProfileChanges(
            display_name=body.display_name, email=body.email, password=body.password
        )
        user = handlers.update_profile(ports.uow_factory, ports.passwords, user_id, changes)
        return UserOut.of(user)

    @app.delete(
        "/users/me",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=_errors(401, 409, 503),
        summary="Delete the caller's account",
    )
    def delete_me(user_id: CurrentUserId) -> Response:
        handlers.delete_user(ports.uow_factory, user_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @app.get(
        "/healthz",
        response_model=Health,
        responses=_errors(503),
        summary="Liveness and database reachability",
    )
    def healthz() -> Health:
        if not ports.check_ready():
            raise ApiError(503, "database_unavailable", "the database is unreachable")
        return Health()

    return app
