"""Components whose address is set: probed, never started, and reported by kind when down."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playball_stack.components.postgres import ensure_database
from playball_stack.components.registry import registry_answers
from playball_stack.errors import DependencyDownError
from playball_stack.settings import StackSettings
from playball_stack.stack import (
    Stack,
    database_answers,
)


@pytest.fixture
def registry_stub() -> Iterator[str]:
    """A loopback HTTP server answering ``GET /subjects`` like an empty registry."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path.endswith("/subjects")
            body = b"[]" if ok else b"{}"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/apis/ccompat/v7"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_external_registry_probe(registry_stub: str, bound_not_listening: int) -> None:
    assert registry_answers(registry_stub)
    assert not registry_answers(f"http://127.0.0.1:{bound_not_listening}/apis/ccompat/v7")


def test_external_database_probe_fails_on_a_dead_port(bound_not_listening: int) -> None:
    assert not database_answers(f"postgresql+psycopg://u:pw@127.0.0.1:{bound_not_listening}/db")
    # databases other than PostgreSQL are not probed
    assert database_answers("sqlite:///tmp/nothing-here.db")


def test_status_probes_external_components_instead_of_assuming_health(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, registry_stub: str, bound_not_listening: int
) -> None:
    dead = f"127.0.0.1:{bound_not_listening}"
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://u:secret@{dead}/db")
    monkeypatch.setenv("PLAYBALL_KAFKA_BOOTSTRAP", dead)
    monkeypatch.setenv("PLAYBALL_SCHEMA_REGISTRY_URL", registry_stub)

    rows = {row.name: row for row in Stack(StackSettings()).status()}

    assert set(rows) == {"postgres", "registry", "kafka"}
    assert all(row.external and row.pid is None for row in rows.values())
    assert rows["registry"].healthy
    assert not rows["postgres"].healthy
    assert not rows["kafka"].healthy
    assert "secret" not in rows["postgres"].address


def test_an_external_database_that_does_not_answer_is_a_dependency_down(
    bound_not_listening: int,
) -> None:
    url = f"postgresql+psycopg://u:pw@127.0.0.1:{bound_not_listening}/db"
    with pytest.raises(DependencyDownError, match=rf"127.0.0.1:{bound_not_listening} did not"):
        ensure_database(url, "playball_registry")
