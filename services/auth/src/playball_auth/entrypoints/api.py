"""The auth HTTP API (FastAPI). :func:`create_app` takes the ports, so tests run it on fakes.

Every status an operation returns is declared in its ``responses`` (the OpenAPI is what
clients and schemathesis hold it to). Errors are ``{"detail", "code"}``; a 422 keeps
FastAPI's validation shape.
"""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from playball_service_kit.api_errors import (
    ApiError,
    error_response,
    install_error_handlers,
    json_safe,
)
from playball_service_kit.http_limits import DEFAULT_MAX_BODY, install_http_limits
from playball_service_kit.openapi_links import install_links
from playball_service_kit.worker_threads import WorkerThreads

from playball_auth.entrypoints import account_api, openapi_links, token_api
from playball_auth.entrypoints.invalid_input import INVALID_INPUT, weak_password_response
from playball_auth.entrypoints.responses import errors as _errors
from playball_auth.entrypoints.schemas import Health, Jwks, NewUser, UserOut
from playball_auth.entrypoints.trace_context import TraceContextMiddleware
from playball_auth.service_layer import handlers
from playball_auth.service_layer.errors import (
    AuthError,
    ConcurrentUpdateError,
    DatabaseBusyError,
    EmailTakenError,
    HashingBusyError,
    InvalidCredentialsError,
    ReauthenticationRequiredError,
    StaleCredentialsError,
    StorageUnavailableError,
    TooManyAttemptsError,
    UnknownUserError,
    UsernameTakenError,
)
from playball_auth.service_layer.ports import AuthPorts

BEARER = {"WWW-Authenticate": "Bearer"}


_STATUS_OF: dict[type[AuthError], int] = {
    UsernameTakenError: status.HTTP_409_CONFLICT,
    EmailTakenError: status.HTTP_409_CONFLICT,
    ConcurrentUpdateError: status.HTTP_409_CONFLICT,
    InvalidCredentialsError: status.HTTP_401_UNAUTHORIZED,
    StorageUnavailableError: status.HTTP_503_SERVICE_UNAVAILABLE,
    UnknownUserError: status.HTTP_401_UNAUTHORIZED,  # a token of a deleted user
    StaleCredentialsError: status.HTTP_401_UNAUTHORIZED,  # issued before a password change
    ReauthenticationRequiredError: status.HTTP_403_FORBIDDEN,
    TooManyAttemptsError: status.HTTP_429_TOO_MANY_REQUESTS,
    HashingBusyError: status.HTTP_503_SERVICE_UNAVAILABLE,
    DatabaseBusyError: status.HTTP_503_SERVICE_UNAVAILABLE,
}
# seconds a client should wait before retrying a momentary overload
BUSY_RETRY_AFTER = 1
# threads for the health check's database query, apart from the request pool's 40
HEALTH_THREADS = 2


def _headers_of(exc: AuthError, status_code: int) -> dict[str, str] | None:
    if status_code == status.HTTP_401_UNAUTHORIZED:
        return BEARER
    if isinstance(exc, TooManyAttemptsError):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, HashingBusyError | DatabaseBusyError):
        return {"Retry-After": str(BUSY_RETRY_AFTER)}
    return None


class _AsciiJSONResponse(JSONResponse):
    """JSON escaped to ASCII: a 422 echoes the input, which may hold lone surrogates that
    UTF-8 cannot encode (rendering them would be a 500)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode()


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        item = {key: value for key, value in error.items() if key != "url"}
        if "input" in item:  # raw bytes or NaN would fail to render: a 500
            item["input"] = json_safe(item["input"])
        if item.get("loc") and item["loc"][-1] in {"password", "current_password"}:
            item["input"] = "<redacted>"  # never echo a password
        if "ctx" in item:  # may hold exception objects
            item["ctx"] = {key: str(value) for key, value in item["ctx"].items()}
        errors.append(item)
    return errors


def create_app(
    ports: AuthPorts,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    instance: str | None = None,
    account_threads: int | None = None,
) -> FastAPI:
    """The API on ``ports``; ``/healthz`` echoes ``instance``, the nonce of this start
    (:mod:`playball_core.instance`), so a supervisor knows the answer is its process's.
    ``account_threads`` run the ``/users/me`` use cases (None: the kit's default)."""
    app = FastAPI(
        title="PlayBall auth",
        version="1.0.0",
        description="User accounts and access tokens. Tokens are RS256 JWTs for the "
        "audience playball-groups; verify them with GET /.well-known/jwks.json.",
    )
    app.add_middleware(TraceContextMiddleware)
    install_links(app, openapi_links.LINKS)

    install_error_handlers(app, unparsable_body="malformed_body")
    health_threads = ThreadPoolExecutor(HEALTH_THREADS, thread_name_prefix="healthz")
    install_http_limits(app, max_body=max_body)  # 413 and 415 before any route reads

    @app.exception_handler(AuthError)
    async def _auth_error(_request: Request, exc: AuthError) -> JSONResponse:
        code = _STATUS_OF.get(type(exc), status.HTTP_400_BAD_REQUEST)
        headers = _headers_of(exc, code)
        stale = isinstance(exc, UnknownUserError | StaleCredentialsError)
        detail = "invalid or expired token" if stale else str(exc)
        code_name = "invalid_token" if stale else exc.code
        return error_response(code, detail, code_name, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        weak = weak_password_response(exc)
        if weak is not None:
            return weak
        return _AsciiJSONResponse(
            {"detail": _validation_errors(exc)},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    @app.post(
        "/users",
        status_code=status.HTTP_201_CREATED,
        response_model=UserOut,
        responses={**_errors(400, 409, 503), **INVALID_INPUT},
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

    token_api.install(app, ports)
    # the account routes' use cases (the hot path: /users/me) run on threads of their
    # own, cheaper per call than the thread pool FastAPI runs sync routes on
    account_api.install(app, ports, WorkerThreads(account_threads, name="account"))

    # async: answered on the event loop itself, never queued behind the thread pool that
    # password hashing keeps busy (the groups service needs these keys for every request)
    @app.get("/.well-known/jwks.json", response_model=Jwks, summary="Token signing keys")
    async def jwks() -> dict[str, Any]:
        return ports.tokens.jwks()

    @app.get(
        "/healthz",
        response_model=Health,
        response_model_exclude_none=True,  # no nonce: no "instance" at all, never null
        responses=_errors(503),
        summary="Liveness and database reachability",
    )
    async def healthz() -> Health:
        # the database check blocks, so it runs on a thread, but on threads of its own:
        # on the shared pool it would wait behind the logins
        ready = await asyncio.get_running_loop().run_in_executor(health_threads, ports.check_ready)
        if not ready:
            raise ApiError(503, "database_unavailable", "the database is unreachable")
        return Health(instance=instance)

    return app
