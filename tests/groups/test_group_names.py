"""Group names follow the shared rule for names people see: in the domain, and through the
API (on the fakes) as 422s that name the offending character."""

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playball_groups.domain.group_name import GROUP_NAME_MAX, check_group_name
from playball_groups.domain.model import KnownUser
from playball_groups.entrypoints.api import create_app
from playball_service_kit.names import NAME_PATTERN, InvalidNameError

from groups.fakes import FakeUnitOfWork, FakeVerifier, Store

# Persian for "I want": the ZWNJ keeps two letters from joining
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
EMOJI_FAMILY = "👨\u200d👩\u200d👧"  # three emoji joined by ZWJs
GOOD = ["chess club", EMOJI_FAMILY, PERSIAN, "x" * GROUP_NAME_MAX]
BAD = [
    ("club \u202e(nimda)", "U+202E"),
    ("\u200b\u200b", "U+200B"),
    ("\u200d", "U+200D"),
    (" club", "U+0020"),
    ("club ", "U+0020"),
    ("club\x85", "U+0085"),  # a C1 control
    ("x" * (GROUP_NAME_MAX + 1), f"{GROUP_NAME_MAX} characters"),
]


@pytest.mark.parametrize("name", GOOD, ids=ascii)
def test_the_domain_accepts_names_that_show_what_they_say(name: str) -> None:
    assert check_group_name(name) == name


@pytest.mark.parametrize(("name", "why"), BAD, ids=ascii)
def test_the_domain_refuses_names_that_lie(name: str, why: str) -> None:
    with pytest.raises(InvalidNameError, match=why.replace("+", r"\+")):
        check_group_name(name)


def test_the_domain_stores_names_in_nfc() -> None:
    assert check_group_name("cafe\u0301") == "café"


class Caller:
    def __init__(self, client: TestClient, user_id: uuid.UUID) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {user_id}"}  # the fake verifier's token

    def create(self, name: str) -> tuple[int, str]:
        response = self.client.post("/groups", json={"name": name}, headers=self.headers)
        return response.status_code, response.text


@pytest.fixture
def caller() -> Iterator[Caller]:
    store = Store()
    ada = uuid.uuid4()
    store.users[ada] = KnownUser(ada, 1, deleted=False, username="ada", display_name="Ada")
    with TestClient(create_app(lambda: FakeUnitOfWork(store), FakeVerifier())) as client:
        yield Caller(client, ada)


@pytest.mark.parametrize("name", GOOD, ids=ascii)
def test_the_api_creates_groups_with_names_that_show_what_they_say(
    caller: Caller, name: str
) -> None:
    status, text = caller.create(name)
    assert status == 201, text


@pytest.mark.parametrize(("name", "why"), BAD, ids=ascii)
def test_the_api_refuses_names_that_lie_with_422(caller: Caller, name: str, why: str) -> None:
    status, text = caller.create(name)
    assert status == 422, text
    assert why in text


def test_the_api_publishes_the_shared_pattern(caller: Caller) -> None:
    schemas = caller.client.get("/openapi.json").json()["components"]["schemas"]
    for model in ("GroupCreate", "GroupRename"):
        name = schemas[model]["properties"]["name"]
        assert name["pattern"] == NAME_PATTERN
        assert name["maxLength"] == GROUP_NAME_MAX
