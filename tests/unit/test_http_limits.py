"""The service kit's request limits (413, 415) and its 422 rendering, on a tiny app.

The body-size tests drive the ASGI app directly with a ``receive`` that counts what it
hands out, so they can show what was *read*, not only what was answered: a chunked body
is an endless stream here, and the app must stop pulling at the limit.
"""

import asyncio
import json
from dataclasses import dataclass, field
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.testclient import TestClient
from playball_service_kit.api_errors import install_error_handlers, json_safe
from playball_service_kit.body_media import BodyMediaTypes
from playball_service_kit.http_limits import install_http_limits
from pydantic import BaseModel
from starlette.types import Message

LIMIT = 1024
CHUNK = 100


class Thing(BaseModel):
    name: str
    count: int = 0


@dataclass
class Calls:
    endpoints: list[str] = field(default_factory=list)


def tiny_app(calls: Calls, *, limits: bool = True) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app, unparsable_body="bad_request")
    if limits:
        install_http_limits(app, max_body=LIMIT)

    @app.post("/things")
    def create(thing: Thing) -> Thing:
        calls.endpoints.append("create")
        return thing

    @app.post("/login")
    def login(username: Annotated[str, Form()]) -> dict[str, str]:
        calls.endpoints.append("login")
        return {"username": username}

    @app.get("/things")
    def listing() -> list[Thing]:
        calls.endpoints.append("listing")
        return []

    @app.post("/raw")
    async def raw(request: Request) -> dict[str, int]:
        # an endpoint that reads the body itself and shrugs off any error while doing so
        calls.endpoints.append("raw")
        try:
            size = len(await request.body())
        except Exception:  # the point: whatever the app answers then is replaced
            size = -1
        return {"size": size}

    @app.post("/parse-error")
    def parse_error() -> None:
        raise HTTPException(400, "boundary error in /tmp/multipart-1234 at byte 17")

    return app


# -- driving the ASGI app with a counting receive --------------------------------------------


@dataclass
class Exchange:
    status: int
    headers: dict[str, str]
    body: bytes
    bytes_read: int

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    app: FastAPI,
    path: str,
    headers: dict[str, str],
    *,
    chunks: int | None = None,
    method: str = "POST",
) -> Exchange:
    """One request whose body is ``chunks`` chunks of CHUNK bytes (None: endless)."""
    read = 0
    handed_out = 0
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> Message:
        nonlocal read, handed_out
        if chunks is not None and handed_out >= chunks:
            return {"type": "http.disconnect"}
        handed_out += 1
        read += CHUNK
        more = chunks is None or handed_out < chunks
        return {"type": "http.request", "body": b"{" + b" " * (CHUNK - 1), "more_body": more}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    return Exchange(answer["status"], answer["headers"], answer["body"], read)


JSON = {"content-type": "application/json"}
CHUNKED = {**JSON, "transfer-encoding": "chunked"}


def test_a_declared_length_over_the_limit_is_refused_before_any_byte_is_read() -> None:
    calls = Calls()
    answer = call(tiny_app(calls), "/things", {**JSON, "content-length": str(LIMIT + 1)})
    assert answer.status == 413
    assert answer.json()["code"] == "body_too_large"
    assert answer.bytes_read == 0
    assert calls.endpoints == []


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/things", "application/json"),
        ("/login", "application/x-www-form-urlencoded"),
        ("/raw", "application/json"),
    ],
)
def test_a_chunked_body_is_cut_at_the_limit_without_being_read_whole(
    path: str, content_type: str
) -> None:
    """An endless body: the app reads at most the limit plus the chunk that crossed it,
    and whatever it answers (a 422, a 400 from the form parser, a 200 from /raw) becomes
    the 413."""
    calls = Calls()
    headers = {"content-type": content_type, "transfer-encoding": "chunked"}
    answer = call(tiny_app(calls), path, headers, chunks=None)
    assert (answer.status, answer.json()["code"]) == (413, "body_too_large")
    assert answer.bytes_read <= LIMIT + CHUNK
    assert not {"create", "login"} & set(calls.endpoints)


def test_a_chunked_body_within_the_limit_reaches_the_app() -> None:
    calls = Calls()
    answer = call(tiny_app(calls), "/raw", CHUNKED, chunks=LIMIT // CHUNK)
    assert (answer.status, answer.json()) == (200, {"size": LIMIT // CHUNK * CHUNK})


def test_the_same_stream_is_read_whole_without_the_limits() -> None:
    """The control: without the middleware the app reads every chunk it is sent."""
    answer = call(tiny_app(Calls(), limits=False), "/raw", CHUNKED, chunks=50)
    assert (answer.status, answer.bytes_read) == (200, 50 * CHUNK)


@pytest.fixture
def client() -> TestClient:
    return TestClient(tiny_app(Calls()), raise_server_exceptions=False)


def test_a_body_of_exactly_the_limit_is_taken(client: TestClient) -> None:
    name = "x" * (LIMIT - len('{"name":""}'))
    body = json.dumps({"name": name}, separators=(",", ":")).encode()
    assert len(body) == LIMIT
    assert client.post("/things", content=body, headers=JSON).status_code == 200
    answer = client.post("/things", content=body + b" ", headers=JSON)
    assert (answer.status_code, answer.json()["code"]) == (413, "body_too_large")


@pytest.mark.parametrize(
    ("path", "headers", "content"),
    [
        ("/things", {"content-type": "text/plain"}, b'{"name": "a"}'),
        ("/things", {"content-type": "application/x-www-form-urlencoded"}, b"name=a"),
        ("/things", {}, b'{"name": "a"}'),  # a body, but no type
        ("/login", {"content-type": "application/json"}, b'{"username": "a"}'),
        ("/login", {"content-type": "multipart/form-data; boundary=x"}, b"--x--\r\n"),
    ],
)
def test_a_body_of_an_undeclared_type_is_415(
    client: TestClient, path: str, headers: dict[str, str], content: bytes
) -> None:
    answer = client.post(path, content=content, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (415, "unsupported_media_type")


def test_declared_types_pass_with_or_without_parameters(client: TestClient) -> None:
    typed = {"content-type": "Application/JSON; charset=utf-8"}
    assert client.post("/things", content=b'{"name": "a"}', headers=typed).status_code == 200
    assert client.post("/login", data={"username": "a"}).json() == {"username": "a"}


def test_a_missing_body_is_left_to_validation(client: TestClient) -> None:
    assert client.post("/things").status_code == 422


def test_routes_without_a_body_ignore_the_content_type(client: TestClient) -> None:
    answer = client.request("GET", "/things", content=b"x", headers={"content-type": "text/x"})
    assert answer.status_code == 200


def test_the_openapi_declares_413_and_415_where_a_body_is_taken(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for method, path in [("post", "/things"), ("post", "/login")]:
        responses = paths[path][method]["responses"]
        assert {"413", "415"} <= responses.keys(), (method, path)
        schema = responses["415"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}
    assert not {"413", "415"} & paths["/things"]["get"]["responses"].keys()


# -- what error bodies carry -------------------------------------------------------------------


def test_a_422_renders_whatever_the_input_was() -> None:
    """Without the 415 in front, a text/plain body reaches validation as bytes, and NaN
    and lone surrogates pass the JSON parser: each must still render (it was a 500)."""
    unguarded = TestClient(tiny_app(Calls(), limits=False), raise_server_exceptions=False)
    for content, content_type in [
        (b"\xff\xfe not utf-8", "text/plain"),
        (b'{"name": "a", "count": NaN}', "application/json"),
        (b'{"name": "a", "count": "\\ud800"}', "application/json"),
    ]:
        answer = unguarded.post("/things", content=content, headers={"content-type": content_type})
        assert answer.status_code == 422, (content, answer.text)
        assert answer.json()["detail"], content


def test_json_safe_names_what_json_cannot_carry() -> None:
    assert json_safe({"a": [b"xyz", float("nan"), 1.5, None, object()]}) == {
        "a": ["<3 bytes>", "nan", 1.5, None, "<object>"]
    }


def test_an_http_error_never_echoes_the_library_text(client: TestClient) -> None:
    answer = client.post("/parse-error")
    assert answer.status_code == 400
    assert answer.json() == {"detail": "the request body cannot be parsed", "code": "bad_request"}


def _scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def test_the_media_types_are_remembered_per_path_and_method_within_a_bound() -> None:
    """The route lookup is remembered: answers stay right, and the client's paths cannot
    grow the memory past its bound."""
    app = FastAPI()

    @app.put("/things/{name}")
    def put(name: str, thing: Thing) -> Thing:
        return thing

    @app.get("/things/{name}")
    def get(name: str) -> Thing:
        return Thing(name=name)

    media = BodyMediaTypes(app, remembered=3)
    for round_ in range(2):  # the second round is answered from memory where kept
        for n in range(5):
            assert media.of(_scope("PUT", f"/things/{n}")) == frozenset({"application/json"}), (
                round_
            )
            assert media.of(_scope("GET", f"/things/{n}")) is None, round_
        assert media.of(_scope("PUT", "/elsewhere")) is None, round_
    assert len(media._answers) == 3
