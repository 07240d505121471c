"""The input rules as the auth API applies them (on the fakes): names that lie, emails
that grow when normalised, and weak passwords are 422s, never 500s."""

from typing import Any

import pytest
from argon2 import PasswordHasher as Argon2
from fastapi.testclient import TestClient
from playball_auth.adapters.passwords_argon2 import Argon2PasswordHasher
from playball_auth.entrypoints.invalid_input import FieldErrors
from playball_auth.service_layer import handlers
from playball_service_kit.api_errors import ErrorBody
from playball_service_kit.names import NAME_PATTERN
from support.auth_backends import AuthBackend

pytestmark = pytest.mark.parametrize("backend", ["fake"], indirect=True)

# Persian for "I want": the ZWNJ keeps two letters from joining
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
EMOJI_FAMILY = "👨\u200d👩\u200d👧"  # three emoji joined by ZWJs

NEW_USER = {
    "username": "alice",
    "email": "alice@example.org",
    "password": "correct horse battery",
    "display_name": "Alice",
}


def register(client: TestClient, **overrides: str) -> Any:
    return client.post("/users", json={**NEW_USER, **overrides})


def field_errors(response: Any) -> list[str]:
    """The messages of a 422 in FastAPI's shape (the shape is checked on the way)."""
    assert response.status_code == 422, response.text
    return [error.msg for error in FieldErrors.model_validate(response.json()).detail]


@pytest.mark.parametrize(
    "name", ["Alice", EMOJI_FAMILY, PERSIAN], ids=["latin", "zwj-emoji", "zwnj-fa"]
)
def test_names_that_show_what_they_say_are_registered(client: TestClient, name: str) -> None:
    response = register(client, display_name=name)
    assert response.status_code == 201, response.text
    assert response.json()["display_name"] == name


@pytest.mark.parametrize(
    ("name", "character"),
    [
        ("Alice \u202e(nimda)", "U+202E"),
        ("\u200b\u200b", "U+200B"),
        ("\u200d", "U+200D"),
        (" Alice", "U+0020"),
        ("Alice ", "U+0020"),
        ("\x85", "U+0085"),
    ],
    ids=ascii,
)
def test_names_that_lie_are_422_naming_the_character(
    client: TestClient, name: str, character: str
) -> None:
    (message,) = field_errors(register(client, display_name=name))
    assert character in message
    assert "nimda" not in message


def test_an_email_that_grows_when_lower_cased_is_422_not_500(client: TestClient) -> None:
    email = "İ" * 240 + "@example.org"  # 252 characters as sent, 492 lower-cased
    (message,) = field_errors(register(client, email=email))
    assert "at most 254 characters" in message


def test_a_common_password_is_422_weak_password(client: TestClient) -> None:
    response = register(client, password="qwerty123456")
    assert response.status_code == 422, response.text
    body = ErrorBody.model_validate(response.json())
    assert body.code == "weak_password"
    assert "qwerty" not in response.text


@pytest.mark.parametrize("password", ["a" * 11, "password1"], ids=["11-chars", "password1"])
def test_a_short_password_is_422_in_fastapis_shape(client: TestClient, password: str) -> None:
    response = register(client, password=password)
    (message,) = field_errors(response)
    assert "12 characters" in message
    assert password not in response.text


def test_twelve_characters_not_on_the_list_are_enough(client: TestClient) -> None:
    assert register(client, password="tennis court").status_code == 201


def test_a_common_password_beside_another_fault_is_listed_with_it(client: TestClient) -> None:
    messages = field_errors(register(client, password="qwerty123456", display_name=" Alice"))
    assert len(messages) == 2
    assert any("too common" in message for message in messages)


def test_an_existing_short_password_still_logs_in(client: TestClient, backend: AuthBackend) -> None:
    # set before the 12-character rule: the handler stores it as an older API let it
    handlers.register_user(
        backend.uow_factory,
        Argon2PasswordHasher(Argon2(time_cost=1, memory_cost=1024, parallelism=1)),
        username="olduser",
        email="old@example.org",
        password="hunter22",  # eight characters, and common
        display_name="Old",
    )
    response = client.post("/token", data={"username": "olduser", "password": "hunter22"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("path", "method"), [("/users", "post"), ("/users/me", "patch")])
def test_the_openapi_declares_both_422_shapes_and_the_rules(
    client: TestClient, path: str, method: str
) -> None:
    spec = client.get("/openapi.json").json()
    schema = spec["paths"][path][method]["responses"]["422"]["content"]["application/json"]
    refs = {option["$ref"].rsplit("/", 1)[-1] for option in schema["schema"]["anyOf"]}
    assert refs == {"FieldErrors", "ErrorBody"}
    body_ref = spec["paths"][path][method]["requestBody"]["content"]["application/json"]
    body = spec["components"]["schemas"][body_ref["schema"]["$ref"].rsplit("/", 1)[-1]]
    password = body["properties"]["password"]
    password = next((o for o in password.get("anyOf", [password]) if "minLength" in o), password)
    assert password["minLength"] == 12
    name = body["properties"]["display_name"]
    name = next((o for o in name.get("anyOf", [name]) if "pattern" in o), name)
    assert name["pattern"] == NAME_PATTERN
