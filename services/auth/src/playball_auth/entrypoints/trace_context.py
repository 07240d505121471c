"""The caller's W3C trace context, checked before it can reach an outbox row.

Whatever trace context is current when a request writes its outbox rows travels on as
Kafka headers to every consumer, so a client's headers are filtered first:

- ``traceparent`` is kept only when valid (W3C Trace Context): lowercase hex
  ``<version>-<trace-id, 32>-<parent-id, 16>-<flags, 2>``, neither id all zeros, the
  version not ``ff``. Version ``00`` must be exactly that (55 characters). A higher
  version is parsed leniently, as the spec asks, so a newer caller keeps its trace: its
  first 55 characters must have the version-00 shape and anything after them must start
  with ``-`` (512 bytes in all at most). Only the ids and flags are kept: the row
  carries the version-00 form OpenTelemetry writes, never the rest of the header.
- ``tracestate`` is kept only beside a valid ``traceparent`` (the spec: it means nothing
  alone) and only when its fields, joined by commas, are 512 bytes or less (what every
  vendor must propagate; the rest is optional, and kilobytes on every event are not).
  Its members are then checked by OpenTelemetry's parser, which drops a malformed
  tracestate whole.
- Two ``traceparent`` fields are ambiguous: both are dropped, with the tracestate.
- Every other header is ignored: ``baggage`` (caller-chosen key-values, bounded only by
  the request's size), and the B3 or Jaeger headers a globally configured propagator
  would read. The context is extracted with the W3C propagator alone, never
  ``propagate.extract``, into a fresh context.
"""

import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from opentelemetry import context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
MAX_TRACESTATE_BYTES = 512
# version 00 is 55 characters; a higher version may append fields, but not without bound
MAX_TRACEPARENT_BYTES = 512

_TRACEPARENT = re.compile(
    r"(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})-(?P<parent_id>[0-9a-f]{16})"
    r"-(?P<flags>[0-9a-f]{2})(?P<rest>-.*)?",
    re.DOTALL,
)
_W3C = TraceContextTextMapPropagator()


def valid_traceparent(value: str) -> bool:
    """Whether ``value`` is a ``traceparent`` this API keeps (see the module's text)."""
    if len(value) > MAX_TRACEPARENT_BYTES:  # latin-1 decoded: a character per byte
        return False
    match = _TRACEPARENT.fullmatch(value)
    if match is None or match["version"] == "ff":
        return False
    if match["version"] == "00" and match["rest"] is not None:
        return False
    return match["trace_id"] != "0" * 32 and match["parent_id"] != "0" * 16


def kept_trace_headers(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, list[str]]:
    """The trace headers of an ASGI request that are kept, by name (each a list of the
    header's fields, as OpenTelemetry's getter reads them)."""
    fields: dict[str, list[str]] = {TRACEPARENT: [], TRACESTATE: []}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        if name in fields:
            fields[name].append(raw_value.decode("latin-1"))
    traceparents, tracestates = fields[TRACEPARENT], fields[TRACESTATE]
    if len(traceparents) != 1 or not valid_traceparent(traceparents[0]):
        return {}
    kept = {TRACEPARENT: traceparents}
    # latin-1 decoding is one character per byte: lengths are the bytes received
    if tracestates and len(",".join(tracestates)) <= MAX_TRACESTATE_BYTES:
        kept[TRACESTATE] = tracestates
    return kept


class TraceContextMiddleware:
    """Makes the caller's checked W3C trace context current during a request, so the
    outbox rows the request writes carry it on to the consumers."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = context.attach(_W3C.extract(kept_trace_headers(scope["headers"])))
        try:
            await self.app(scope, receive, send)
        finally:
            context.detach(token)
