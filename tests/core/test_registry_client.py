"""The HTTP registry client turns every failure into a RegistryError with the reason.

The registry is replaced by ``httpx.MockTransport`` (answers chosen per test) or, for
"unreachable", by a local port nothing listens on.
"""

import json
import socket
from collections.abc import Callable

import httpx
import pytest
from playball_core.registry import RegistryClient, RegistryError, UnknownSchemaIdError
from playball_core.registry.client import SUBJECTS_PAGE
from playball_events.contracts import UserRegistered
from playball_events.serde import RecordDeserializer, RecordSerializer
from playball_events.serde_errors import SchemaNotRegisteredError
from support.events import registered

URL = "http://registry.test/apis/ccompat/v7"
TOPIC = "playball.auth.user-events.v1"


def _registry(handler: Callable[[httpx.Request], httpx.Response]) -> RegistryClient:
    return RegistryClient(URL, transport=httpx.MockTransport(handler))


def _answer(status: int, body: object = None, text: str | None = None) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text)
    return httpx.Response(status, json=body)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: connecting is refused


def test_unreachable_registry_is_a_registry_error() -> None:
    registry = RegistryClient(f"http://127.0.0.1:{_closed_port()}", timeout=5)
    with pytest.raises(RegistryError, match=r"unreachable .*ConnectError"):
        registry.lookup("s", '"string"')
    with pytest.raises(RegistryError, match="unreachable"):
        RecordSerializer(registry, TOPIC).serialize(registered())
    with pytest.raises(RegistryError, match="unreachable"):
        RecordDeserializer(registry, [UserRegistered]).deserialize(b"\x00\x00\x00\x00\x07body")
    registry.close()


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (_answer(500, text="boom"), "HTTP 500: boom"),
        (_answer(503, text=""), r"HTTP 503: \(empty body\)"),
        (_answer(502, {"error_code": 50201, "message": "backend"}), "HTTP 502: .*backend"),
        # A 404 without a registry error code means a wrong URL, not "not registered".
        (_answer(404, text="<html>no such path</html>"), "HTTP 404: <html>no such path"),
        (_answer(200, text="<html>a proxy login page</html>"), "HTTP 200: <html>a proxy"),
        (_answer(200, {"unexpected": 1}), r"unexpected answer \{'unexpected': 1\}"),
        (_answer(200, [1, 2]), r"unexpected answer \[1, 2\]"),
    ],
)
def test_error_answers_are_registry_errors_with_the_reason(
    response: httpx.Response, reason: str
) -> None:
    registry = _registry(lambda _request: response)
    with pytest.raises(RegistryError, match=reason):
        registry.lookup("s", '"string"')
    with pytest.raises(RegistryError, match=reason):
        registry.schema_by_id(7)
    with pytest.raises(RegistryError, match=reason):
        registry.register("s", '"string"')


def test_registry_not_found_codes_mean_not_registered_or_unknown_id() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/schemas/ids/7"):
            return _answer(404, {"error_code": 40403, "message": "Schema 7 not found."})
        return _answer(404, {"error_code": 40401, "message": "Subject not found."})

    registry = _registry(handler)
    assert registry.lookup("s", '"string"') is None
    with pytest.raises(SchemaNotRegisteredError, match="auto-register is off"):
        RecordSerializer(registry, TOPIC).serialize(registered())
    with pytest.raises(UnknownSchemaIdError, match="schema id 7 is not in the registry"):
        RecordDeserializer(registry, [UserRegistered]).deserialize(b"\x00\x00\x00\x00\x07")


def test_requests_follow_the_confluent_api() -> None:
    seen: list[tuple[str, str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.raw_path.decode(), body))
        if request.method == "GET":
            return _answer(200, {"schema": '"string"'})
        return _answer(200, {"id": 42, "version": 3})

    registry = _registry(handler)
    found = registry.lookup("a topic/x-R", '"string"')
    assert found is not None
    assert (found.id, found.version) == (42, 3)
    assert registry.register("t-R", '"long"') == 42
    assert registry.schema_by_id(42) == '"string"'
    assert seen == [
        (
            "POST",
            "/apis/ccompat/v7/subjects/a%20topic%2Fx-R",
            {"schema": '"string"', "schemaType": "AVRO"},
        ),
        (
            "POST",
            "/apis/ccompat/v7/subjects/t-R/versions",
            {"schema": '"long"', "schemaType": "AVRO"},
        ),
        ("GET", "/apis/ccompat/v7/schemas/ids/42", None),
    ]


def test_subjects_pages_through_a_registry_that_caps_its_answer() -> None:
    # Apicurio answers at most a page of subjects per call, honouring offset and limit
    every = [f"s{n:05d}" for n in range(2 * SUBJECTS_PAGE + 5)]
    calls: list[tuple[int, int]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        limit = int(request.url.params["limit"])
        calls.append((offset, limit))
        return _answer(200, every[offset : offset + min(limit, SUBJECTS_PAGE)])

    assert _registry(handler).subjects() == every
    assert calls == [
        (0, SUBJECTS_PAGE),
        (SUBJECTS_PAGE, SUBJECTS_PAGE),
        (2 * SUBJECTS_PAGE, SUBJECTS_PAGE),
    ]


def test_subjects_of_a_registry_that_ignores_paging_are_listed_once() -> None:
    every = [f"s{n:05d}" for n in range(SUBJECTS_PAGE + 3)]
    calls = 0

    def handler(_request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return _answer(200, list(reversed(every)))  # everything, every time

    assert _registry(handler).subjects() == every
    assert calls == 2  # the second page brought nothing new
