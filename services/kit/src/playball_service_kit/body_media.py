"""Which media types each operation takes as its request body, as the app's OpenAPI
declares them, and the two refusals every operation with a body may answer (413, 415).

The OpenAPI is the source: what a client reads there is exactly what the service takes,
so a form route (``application/x-www-form-urlencoded``) refuses ``multipart/form-data``
before Starlette's multipart parser could spool it to disk, and a JSON route refuses a
``text/plain`` body instead of handing its bytes to validation.
"""

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Host, Match
from starlette.types import Scope

from playball_service_kit.api_errors import ErrorBody

# (path template, METHOD) -> the media types its request body may have
MediaTable = dict[tuple[str, str], frozenset[str]]

REFUSALS = {
    "413": "the request body is larger than the service takes (body_too_large)",
    "415": "the body's Content-Type is not one this operation declares, or the body has "
    "none (unsupported_media_type)",
}


def media_type(content_type: str) -> str:
    """``type/subtype`` of a Content-Type value, lower-cased, without its parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def declared_media_types(openapi: Mapping[str, Any]) -> MediaTable:
    """Every operation with a request body, and the media types it declares for it."""
    table: MediaTable = {}
    for path, operations in openapi.get("paths", {}).items():
        for method, operation in operations.items():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if body is not None:
                types = frozenset(media_type(t) for t in body.get("content", {}))
                table[(path, method.upper())] = types
    return table


def declare_refusals(openapi: dict[str, Any]) -> None:
    """Add 413 and 415 (an :class:`ErrorBody`) to every operation that takes a body."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorBody", ErrorBody.model_json_schema())
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                responses = operation.setdefault("responses", {})
                for status, description in REFUSALS.items():
                    responses.setdefault(status, {"description": description, "content": content})


class BodyMediaTypes:
    """The media types the operation a request is routed to takes; read lazily, on the
    first request, because routes are added after the middleware is installed."""

    def __init__(self, api: FastAPI, *, remembered: int = 1024) -> None:
        self._api = api
        self._table: MediaTable | None = None
        # Finding the route walks the whole route list, a few percent of an API's CPU
        # per request. Routes here match on the method and the path alone (a Host route
        # would also read a header: then nothing is remembered), so the answer is kept
        # for the last ``remembered`` of them: paths are the client's, memory is bounded.
        self._answers: dict[tuple[str, str, str], frozenset[str] | None] = {}
        self._remembered = remembered
        self._by_path: bool | None = None  # whether answers may be remembered; on first use

    def of(self, scope: Scope) -> frozenset[str] | None:
        """None when the request goes to no operation with a body (no route, a 405, a route
        without a body, or one left out of the OpenAPI): nothing to check then."""
        key = (scope["method"], scope.get("root_path", ""), scope["path"])
        try:
            return self._answers[key]
        except KeyError:
            pass
        answer = self._routed(scope)
        if self._remembering():
            if len(self._answers) >= self._remembered:
                del self._answers[next(iter(self._answers))]  # the oldest goes
            self._answers[key] = answer
        return answer

    def _remembering(self) -> bool:
        if self._by_path is None:
            routes = self._api.router.routes
            self._by_path = self._remembered > 0 and not any(isinstance(r, Host) for r in routes)
        return self._by_path

    def _routed(self, scope: Scope) -> frozenset[str] | None:
        for route in self._api.router.routes:
            match, _child = route.matches(scope)
            if match is Match.FULL:
                if not isinstance(route, APIRoute):
                    return None
                return self._declared().get((route.path_format, scope["method"]))
        return None

    def _declared(self) -> MediaTable:
        if self._table is None:
            self._table = declared_media_types(self._api.openapi())
        return self._table
