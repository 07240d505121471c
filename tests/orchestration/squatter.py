"""A process squatting on a service's port: it answers every GET with 200 and a fixed
body (by default what a service would say, ``{"status": "ok"}``), over https when given
a server context. It runs in the test's own process, on a thread."""

import errno
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HEALTHY = {"status": "ok"}


# A process just killed may hold the port a moment longer (its group's other members, or
# the kernel finishing its exit): the squatter waits for it, within this bound.
FREE_WITHIN = 10.0


def _bound(port: int, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    deadline = time.monotonic() + FREE_WITHIN
    while True:
        try:
            return ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


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

    server = _bound(port, Handler)
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
