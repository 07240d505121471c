"""Bounds on a request's body, enforced before any route sees it (both services' APIs).

- **413** ``body_too_large`` above ``max_body`` bytes. A Content-Length above the limit is
  refused before anything is read. Without one (a chunked body), bytes are counted as they
  arrive: the message that crosses the limit is never passed on, the app gets an error
  instead of more body, and whatever it answers is replaced by the 413. At most the limit
  plus one message is ever read, and nothing is spooled.
- **415** ``unsupported_media_type`` for a body whose Content-Type the operation does not
  declare in the OpenAPI (:mod:`.body_media`), or a body without one.

Pure ASGI: a ``BaseHTTPMiddleware`` would buffer, and the point is not to.
"""

import logging
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from playball_service_kit.api_errors import LIMIT_CODES, error_response
from playball_service_kit.body_media import BodyMediaTypes, declare_refusals, media_type

DEFAULT_MAX_BODY = 65_536  # bytes; PLAYBALL_AUTH_MAX_BODY and PLAYBALL_GROUPS_MAX_BODY

_log = logging.getLogger(__name__)


class BodyTooLargeError(HTTPException):
    """What ``receive`` raises once the body passes the limit. An HTTPException because
    FastAPI's body reader re-raises those as they are (any other error it would turn
    into a 400); the middleware answers 413 whichever way it comes out."""

    def __init__(self) -> None:
        super().__init__(413)


def install_http_limits(api: FastAPI, *, max_body: int = DEFAULT_MAX_BODY) -> None:
    """Refuse large bodies (413) and undeclared media types (415) on ``api``, and declare
    both answers in its OpenAPI for every operation that takes a body."""
    api.add_middleware(RequestLimitsMiddleware, api=api, max_body=max_body)
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        fresh = api.openapi_schema is None
        schema = generate()
        if fresh:  # FastAPI caches the schema: add the refusals to it once
            declare_refusals(schema)
        return schema

    api.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented hook


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp, *, api: FastAPI, max_body: int) -> None:
        self.app = app
        self.max_body = max_body
        self._media = BodyMediaTypes(api)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = _content_length(headers)
        if length is not None and length > self.max_body:
            await self._too_large(scope, receive, send)
            return
        accepted = self._media.of(scope)
        if accepted is not None and not _acceptable(headers, length, accepted):
            response = error_response(
                415,
                f"this operation takes a body of type {' or '.join(sorted(accepted))}",
                LIMIT_CODES[415],
                {"Connection": "close"},  # the body is left unread
            )
            await response(scope, receive, send)
            return
        body = _BoundedBody(receive, send, self.max_body)
        try:
            await self.app(scope, body.receive, body.send)
        except Exception:
            if not body.replaced:
                raise
            # the app's own reaction to the cut body (an error, a 400): the 413 says why
            _log.debug("request body cut at %d bytes", self.max_body, exc_info=True)
        if body.replaced:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413,
            f"the request body is larger than {self.max_body} bytes",
            LIMIT_CODES[413],
            {"Connection": "close"},  # the rest of the body is never read
        )
        await response(scope, receive, send)


class _BoundedBody:
    """The app's view of one request: its body up to the limit, then an error; and its
    answer, unless the limit was passed before the answer began."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive = receive
        self._send = send
        self._limit = limit
        self._received = 0
        self._passed = False  # the body went over the limit
        self._started = False  # the app began its answer (before that happened)

    @property
    def replaced(self) -> bool:
        """The app's answer is dropped: the middleware answers 413 instead."""
        return self._passed and not self._started

    async def receive(self) -> Message:
        if self._passed:
            raise BodyTooLargeError
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._limit:
                self._passed = True
                raise BodyTooLargeError
        return message

    async def send(self, message: Message) -> None:
        if self.replaced:
            return
        if message["type"] == "http.response.start":
            self._started = True
        await self._send(message)


def _content_length(headers: Headers) -> int | None:
    """The declared length; None when absent or not a number (the count then decides)."""
    value = (headers.get("content-length") or "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _acceptable(headers: Headers, length: int | None, accepted: frozenset[str]) -> bool:
    content_type = headers.get("content-type")
    if content_type is not None:
        return media_type(content_type) in accepted
    # No body at all is for validation to judge (a 422 when one is required); a body
    # without a type is refused rather than guessed at.
    if "transfer-encoding" in headers:
        return False
    return "content-length" not in headers or length == 0
