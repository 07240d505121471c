"""A TCP forwarder a test can cut and restore: a dependency "going down" without
stopping the shared component behind it; or slow: each answer held back a while."""

import socket
import threading
import time
from contextlib import suppress


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, delay: float = 0.0) -> None:
        """``delay``: seconds each chunk the target sends waits before it is passed on,
        so every round trip through the proxy takes at least that long."""
        self.target = (target_host, target_port)
        self.delay = delay
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.port = 0

    def start(self) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self.port = server.getsockname()[1]
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            # the timeout was for connecting only: an idle connection (a LISTEN waiting
            # for notifications) must stay up until the test cuts it
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            for a, b, delay in ((client, upstream, 0.0), (upstream, client, self.delay)):
                threading.Thread(target=self._pipe, args=(a, b, delay), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, delay: float) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                if delay:
                    time.sleep(delay)
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        """Refuse new connections and cut the open ones (the port stays ours)."""
        if self._server is not None:
            with suppress(OSError):  # wakes the thread blocked in accept() (Linux)
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()
            self._server = None
        with self._lock:
            for conn in self._conns:
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._conns.clear()
