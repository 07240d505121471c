"""An https reverse proxy on loopback that demands HTTP basic auth, in front of a registry.

The stack's registry (Apicurio) has no authentication of its own without an OIDC server;
this stands in for a registry that has (Confluent Cloud, a gateway): a request without
the right ``Authorization`` gets 401, any other is forwarded as it came.
"""

import base64
import http.client
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from playball_stack.tls import ca_files, ensure_server_certificate

# hop-by-hop headers, and the credentials the upstream must never see
_DROPPED = {"authorization", "connection", "host", "keep-alive", "transfer-encoding"}


@dataclass(frozen=True)
class BasicAuthProxy:
    url: str  # the upstream's URL with this proxy's scheme, host and port
    ca_file: Path  # the CA its certificate chains to
    refused: list[str]  # paths answered 401, in order


def _handler(upstream: str, expected: str, refused: list[str]) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            if self.headers.get("Authorization") != expected:
                refused.append(self.path)
                refusal = b'{"error_code": 401, "message": "Unauthorized"}'
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="registry"')
                self.send_header("Content-Length", str(len(refusal)))
                self.end_headers()
                self.wfile.write(refusal)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _DROPPED}
            connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                payload = answer.read()
            finally:
                connection.close()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in _DROPPED | {"content-length"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        # the stdlib dispatches on these names
        do_GET = do_POST = do_PUT = do_DELETE = _forward  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the tests assert on what the client saw

    return Handler


@contextmanager
def basic_auth_proxy(
    upstream: str, user: str, password: str, directory: Path
) -> Iterator[BasicAuthProxy]:
    """Serve https on a free loopback port until the block ends; ``upstream`` is http.
    Its certificate comes from a CA made under ``directory``."""
    server_files = ensure_server_certificate(directory, "registry-proxy")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_files.certificate, server_files.key)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    refused: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream, f"Basic {token}", refused))
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="registry-proxy", daemon=True)
    thread.start()
    path = urlsplit(upstream).path
    try:
        yield BasicAuthProxy(
            f"https://localhost:{server.server_address[1]}{path}",
            ca_files(directory).certificate,
            refused,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
