"""The services' HTTP error shape: ``{"detail": ..., "code": ...}`` with its status.

:func:`install_error_handlers` puts :class:`ApiError` and Starlette's own errors (a body
FastAPI cannot parse, routing's 404 and 405) in that shape; each service adds the
handlers of its own domain errors, answering with :func:`error_response`. A 422 keeps
FastAPI's validation shape.
"""

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

ROUTING_CODES = {404: "not_found", 405: "method_not_allowed"}


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
    """Answer :class:`ApiError` and Starlette's errors with an error body.

    ``unparsable_body`` is the code of FastAPI's 400 for a body it cannot parse at all.
    """
    codes = {400: unparsable_body, **ROUTING_CODES}

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
        return error_response(exc.status_code, str(exc.detail), code, headers)
