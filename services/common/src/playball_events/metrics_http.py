"""The relay's and the consumer's small HTTP server: ``/metrics``, and ``/healthz``.

Neither process has an API of its own, so its metrics server is also where a supervisor
asks "are you the process I started?": ``/healthz`` answers ``{"status": "ok",
"instance": <PLAYBALL_INSTANCE_NONCE>}`` (see :mod:`playball_core.instance`). Every other
path is prometheus_client's exposition, as ``start_http_server`` serves it.
"""

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from playball_core.instance import health_document, instance_nonce
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

HEALTH_PATH = "/healthz"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _QuietHandler(WSGIRequestHandler):
    """Scrapes and probes come every few seconds: no access line for each."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def metrics_and_health_app(registry: CollectorRegistry, instance: str | None) -> WsgiApp:
    """A WSGI app: ``/healthz`` with ``instance``, anything else the registry's metrics."""
    metrics = make_wsgi_app(registry)
    body = json.dumps(health_document(instance)).encode()

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            start_response("200 OK", headers)
            return [body]
        page: Iterable[bytes] = metrics(environ, start_response)
        return page

    return app


def serve_metrics_and_health(
    registry: CollectorRegistry, port: int, host: str = "127.0.0.1"
) -> WSGIServer:
    """Serve ``registry`` and ``/healthz`` (this process's nonce) on ``host:port`` from a
    daemon thread, until ``shutdown()``; raises OSError when the port cannot be bound."""
    app = metrics_and_health_app(registry, instance_nonce())
    server = make_server(host, port, app, ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
