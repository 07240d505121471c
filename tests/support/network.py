"""A loopback server that accepts connections and never answers: a database gone silent."""

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError


@contextmanager
def silent_server() -> Iterator[int]:
    """A loopback port whose server accepts connections and never says a word (a
    database host that went silent); the port while the block runs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, name="silent-server", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for connection in held:
            connection.close()
        listener.close()


def call_on_silent_server(call: Callable[[int], object], deadline: float = 60.0) -> BaseException:
    """Run ``call(port)`` against a silent server; the exception it ended with.

    Fails the test when the call is still blocked at ``deadline`` (far above any connect
    timeout the code sets) or returns without raising.
    """
    raised: list[BaseException] = []
    with silent_server() as port:

        def run() -> None:
            try:
                call(port)
            except BaseException as exc:  # handed to the test's thread
                raised.append(exc)

        worker = threading.Thread(target=run, name="silent-call", daemon=True)
        worker.start()
        worker.join(deadline)
    assert not worker.is_alive(), "still waiting for a database that never answers"
    assert len(raised) == 1, "returned although the database never answered"
    return raised[0]


def assert_connect_times_out(engine_for: Callable[[str], Engine]) -> None:
    """A connect through ``engine_for(url)`` to a silent server fails with a timeout."""

    def connect(port: int) -> None:
        engine = engine_for(f"postgresql+psycopg://probe@127.0.0.1:{port}/probe")
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()

    raised = call_on_silent_server(connect)
    assert isinstance(raised, OperationalError), raised
    assert "timeout" in str(raised).lower()
