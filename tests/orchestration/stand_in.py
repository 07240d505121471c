"""A stand-in service: ``python stand_in.py PORT MARKER [CERTFILE KEYFILE]``.

Answers ``/healthz`` as every PlayBall service does, ``{"status": "ok", "instance":
<PLAYBALL_INSTANCE_NONCE>}`` (no ``instance`` without one), over https when given a
certificate. MARKER only rides on the command line, where the supervisor looks for it.
A port it cannot bind ends it at once with exit 1, as a real service's would.
"""

import json
import os
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INSTANCE_VARIABLE = "PLAYBALL_INSTANCE_NONCE"  # playball_core.instance's, kept import-free


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        nonce = os.environ.get(INSTANCE_VARIABLE)
        document: dict[str, str] = {"status": "ok"}
        if nonce:
            document["instance"] = nonce
        body = json.dumps(document).encode()
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    port, certificate = int(sys.argv[1]), sys.argv[3:5]
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), Health)
    except OSError as exc:
        print(f"stand-in: cannot listen on {port}: {exc}", flush=True)
        raise SystemExit(1) from None
    if certificate:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certificate)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"stand-in: listening on {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
