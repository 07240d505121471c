"""A process squatting on a service's port: it answers every GET with 200 and a fixed
body (by default what a service would say, ``{"status": "ok"}``), over https when given
a server context. It runs in the test's own process, on a thread."""

import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HEALTHY = {"status": "ok"}


@contextmanager
def squatting(
    port: int, body: dict[str, Any] | None = None, tls: ssl.SSLContext | None = None
) -> Iterator[list[str]]:
    """Listen on 127.0.0.1:``port`` until the block ends; yields the paths it was asked."""
    payload = json.dumps(HEALTHY if body is None else body).encode()
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    # a short poll: shutdown() waits out one, and the default 0.5 s is most of a test
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield asked
    finally:
        server.shutdown()
        server.server_close()
