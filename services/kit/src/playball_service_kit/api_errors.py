"""The services' HTTP error shape: ``{"detail": ..., "code": ...}`` with its status.

:func:`install_error_handlers` puts :class:`ApiError` and Starlette's own errors (a body
FastAPI cannot parse, routing's 404 and 405) in that shape; each service adds the
handlers of its own domain errors, answering with :func:`error_response`. A 422 keeps
FastAPI's validation shape, made safe to render whatever the input was
(:func:`validation_errors`).

No body carries a library's message: Starlette's errors answer with texts of our own, and
what the library said goes to the log.
"""

import json
import logging
import math
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

ROUTING_CODES = {404: "not_found", 405: "method_not_allowed"}
LIMIT_CODES = {413: "body_too_large", 415: "unsupported_media_type"}  # see .http_limits
# Starlette's and FastAPI's HTTPException details can be a parser's message (a multipart
# error, say); the body says only what the status means.
UNPARSABLE_DETAIL = "the request body cannot be parsed"

_log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """Every error but a 422: a message for people and a code for programs."""

    detail: str
    code: str


class ApiError(Exception):
    """Raised by a route to answer with an error body."""

    def __init__(
        self, status_code: int, code: str, detail: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.code = code
        self.detail = detail
        self.headers = headers


def error_response(
    status_code: int, detail: str, code: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(detail=detail, code=code).model_dump()
    return JSONResponse(body, status_code=status_code, headers=headers)


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route takes on the request's path."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _child = route.matches({**request.scope, "method": "\x00"})
        if match is not Match.NONE and isinstance(route, APIRoute):
            methods.update(route.methods or ())
    return sorted(methods)


def install_error_handlers(app: FastAPI, *, unparsable_body: str) -> None:
    """Answer :class:`ApiError` and Starlette's errors with an error body, and a 422 with
    :func:`validation_errors` (a service may install its own 422 handler over it).

    ``unparsable_body`` is the code of FastAPI's 400 for a body it cannot parse at all.
    """
    codes = {400: unparsable_body, **ROUTING_CODES, **LIMIT_CODES}

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status_code, exc.detail, exc.code, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first route matching the path; list them all.
            headers["Allow"] = ", ".join(allowed_methods(app, request))
        code = codes.get(exc.status_code, "http_error")
        _log.debug("%s answered %d: %s", request.url.path, exc.status_code, exc.detail)
        return error_response(exc.status_code, _own_detail(exc.status_code), code, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return AsciiJSONResponse({"detail": validation_errors(exc)}, status_code=422)


def _own_detail(status_code: int) -> str:
    if status_code == 400:
        return UNPARSABLE_DETAIL
    try:
        return HTTPStatus(status_code).phrase  # "Not Found", "Method Not Allowed"
    except ValueError:
        return "error"


class AsciiJSONResponse(JSONResponse):
    """JSON escaped to ASCII: a 422 echoes the input, which may hold lone surrogates that
    UTF-8 cannot encode (rendering them as UTF-8 would be a 500)."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        return text.encode("ascii")


def json_safe(value: Any) -> Any:
    """``value`` as JSON can carry it, for echoing an input back in a 422.

    Validation sees whatever the request held: raw bytes (a body it could not decode),
    NaN (Python's JSON parser accepts it), objects. Bytes and objects are named, not
    echoed; a non-finite float becomes its text.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return f"<{type(value).__name__}>"


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """FastAPI's validation errors, each safe to render: no documentation link, the input
    through :func:`json_safe`, the context (which may hold exception objects) as text."""
    errors = []
    for error in exc.errors():
        item = {key: value for key, value in error.items() if key != "url"}
        if "input" in item:
            item["input"] = json_safe(item["input"])
        if "ctx" in item:
            item["ctx"] = {key: str(value) for key, value in item["ctx"].items()}
        errors.append(item)
    return errors
