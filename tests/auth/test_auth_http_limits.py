"""The auth API's bodies: 415 for a type an operation does not declare, 413 above the
limit (``PLAYBALL_AUTH_MAX_BODY``), both before any handler runs, so the fakes suffice."""

import pytest
from fastapi.testclient import TestClient
from support.auth_backends import AuthBackend, FakeBackend

TEXT = {"Content-Type": "text/plain"}
USER = b'{"username": "ada", "email": "ada@example.com", "password": "correct horse battery"}'


@pytest.fixture
def backend() -> AuthBackend:
    """The fakes alone (overrides the suite's backends): nothing here reaches storage."""
    return FakeBackend()


def test_a_json_body_sent_as_text_plain_is_415_not_500(client: TestClient) -> None:
    """The 422 handler used to serialize the raw bytes body: a 500."""
    for method, path in [("POST", "/users"), ("PATCH", "/users/me")]:
        answer = client.request(method, path, content=USER, headers=TEXT)
        assert answer.status_code == 415, answer.text
        assert answer.json()["code"] == "unsupported_media_type"


def test_multipart_on_token_is_415_so_nothing_is_spooled(client: TestClient) -> None:
    answer = client.post("/token", files={"username": (None, "ada"), "password": (None, "pw")})
    assert answer.status_code == 415, answer.text
    assert answer.json()["code"] == "unsupported_media_type"


def test_a_70_kb_body_is_413(client: TestClient) -> None:
    body = b'{"username": "' + b"a" * 70_000 + b'"}'
    json_type = {"Content-Type": "application/json"}
    for content in (body, iter([body])):  # with a Content-Length, then chunked
        answer = client.post("/users", content=content, headers=json_type)
        assert answer.status_code == 413, answer.text
        assert answer.json()["code"] == "body_too_large"


def test_the_openapi_declares_413_and_415_for_every_operation_with_a_body(
    client: TestClient,
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    with_body = 0
    for path, operations in paths.items():
        for method, operation in operations.items():
            declared = {"413", "415"} & operation["responses"].keys()
            expected = {"413", "415"} if "requestBody" in operation else set()
            assert declared == expected, (method, path)
            with_body += "requestBody" in operation
    assert with_body >= 3  # POST /users, POST /token, PATCH /users/me at least
