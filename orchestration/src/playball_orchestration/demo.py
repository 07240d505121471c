"""The seed bug, gone: a user registered in auth creates a group in groups, end to end.

`playball demo` runs it against the services `playball up` started; the end-to-end test
runs it against its own. Every step is printed with how long the event took to reach the
groups service, measured from the moment auth's answer came back, so it bounds
commit -> relay -> Kafka -> consumer -> view from above.
"""

import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

DEADLINE = 30.0  # seconds an event may take before the demo calls it lost
POLL = 0.005


class DemoFailedError(Exception):
    """A step did not give what the flow needs; the message says which and why."""


def wait_for(what: str, probe: Callable[[], Any]) -> tuple[Any, float]:
    """Call ``probe`` until it returns something truthy; (that value, seconds waited)."""
    start = time.perf_counter()
    while True:
        found = probe()
        if found:
            return found, time.perf_counter() - start
        if time.perf_counter() - start > DEADLINE:
            msg = f"{what} did not happen within {DEADLINE:.0f} s"
            raise DemoFailedError(msg)
        time.sleep(POLL)


def check(response: httpx.Response, *expected: int) -> Any:
    if response.status_code not in expected:
        msg = (
            f"{response.request.method} {response.request.url} answered "
            f"{response.status_code}: {response.text[:300]}"
        )
        raise DemoFailedError(msg)
    return response.json() if response.content else None


@dataclass(frozen=True, slots=True)
class Account:
    """A demo user: its profile, its password, and its groups token's header."""

    user: dict[str, Any]
    password: str
    groups_auth: dict[str, str]

    def account_auth(self, client: httpx.Client, auth: str) -> dict[str, str]:
        """A short-lived token for auth's own /users/me (scope ``account``): groups tokens
        are refused there, so a token shown to groups cannot change the account."""
        token = check(
            client.post(
                f"{auth}/token",
                data={
                    "username": self.user["username"],
                    "password": self.password,
                    "scope": "account",
                },
            ),
            200,
        )
        return {"Authorization": f"Bearer {token['access_token']}"}


def register(client: httpx.Client, auth: str, name: str) -> Account:
    tag = uuid.uuid4().hex[:8]
    password = f"correct horse {tag}"
    user = check(
        client.post(
            f"{auth}/users",
            json={
                "username": f"{name.lower()}-{tag}",
                "email": f"{name.lower()}-{tag}@example.org",
                "password": password,
                "display_name": name,
            },
        ),
        201,
    )
    token = check(
        client.post(f"{auth}/token", data={"username": user["username"], "password": password}),
        200,
    )
    return Account(user, password, {"Authorization": f"Bearer {token['access_token']}"})


def trusting(ca: str | None) -> ssl.SSLContext:
    """The system's trust store, plus ``ca`` (the stack's) when it exists: the demo runs
    against `up`'s https auth and against whatever URL it is given."""
    context = ssl.create_default_context()
    if ca is not None and Path(ca).is_file():
        context.load_verify_locations(cafile=ca)
    return context


def run(
    auth: str, groups: str, say: Callable[[str], None], *, ca: str | None = None
) -> dict[str, float]:
    """The five steps; the seconds each event took to reach groups, by event type.
    ``ca``: a CA to trust besides the system's, for an https auth or groups."""
    timings: dict[str, float] = {}

    def step(text: str) -> None:
        say(f"\n== {text}")

    with httpx.Client(timeout=10, verify=trusting(ca)) as client:
        step("1. register Alice in the auth service")
        alice_account = register(client, auth, "Alice")
        alice, alice_auth = alice_account.user, alice_account.groups_auth
        say(f"   user {alice['id']} ({alice['username']}), version {alice['version']}")

        step("2. log in: Alice holds an RS256 token for the groups service")
        say(f"   token issued by {auth}, audience playball-groups")

        step("3. Alice creates a group in the groups service")

        def create_group() -> Any:
            response = client.post(
                f"{groups}/groups", json={"name": "Sunday league"}, headers=alice_auth
            )
            if response.status_code == 409 and response.json().get("code") == "user_not_known":
                return None  # UserRegistered is still on its way
            return check(response, 201)

        group, waited = wait_for("UserRegistered reaching groups", create_group)
        timings["UserRegistered"] = waited
        say(f"   group {group['id']} created; UserRegistered arrived after {waited * 1000:.0f} ms")
        say("   (before this project: 400 Invalid user to create a group)")

        bob_account = register(client, auth, "Bob")
        bob, bob_auth = bob_account.user, bob_account.groups_auth
        members_url = f"{groups}/groups/{group['id']}/members"

        def add_bob() -> Any:
            response = client.post(members_url, json={"user_id": bob["id"]}, headers=alice_auth)
            if response.status_code == 409 and response.json().get("code") == "user_not_known":
                return None
            return check(response, 201) or True

        _, waited = wait_for("Bob reaching groups", add_bob)
        say(f"   Bob added as a member ({waited * 1000:.0f} ms after his registration)")

        step("4. Alice renames herself; the new name shows in the group's members")
        # the profile takes an account-scope token; a display name needs no password
        alice_account_auth = alice_account.account_auth(client, auth)
        check(
            client.patch(
                f"{auth}/users/me",
                json={"display_name": "Alice Cooper"},
                headers=alice_account_auth,
            ),
            200,
        )

        def renamed() -> bool:
            members = check(client.get(members_url, headers=bob_auth), 200)
            return any(m["display_name"] == "Alice Cooper" for m in members)

        _, waited = wait_for("UserUpdated reaching groups", renamed)
        timings["UserUpdated"] = waited
        say(f"   members show 'Alice Cooper'; UserUpdated arrived after {waited * 1000:.0f} ms")

        step("5. Alice deletes her account; her membership is gone")
        # deleting the account asks for the password again
        check(
            client.request(
                "DELETE",
                f"{auth}/users/me",
                json={"current_password": alice_account.password},
                headers=alice_account_auth,
            ),
            204,
        )

        def gone() -> Any:
            members = check(client.get(members_url, headers=bob_auth), 200)
            return None if any(m["user_id"] == alice["id"] for m in members) else members

        members, waited = wait_for("UserDeleted reaching groups", gone)
        timings["UserDeleted"] = waited
        say(f"   Alice is no longer a member; UserDeleted arrived after {waited * 1000:.0f} ms")
        roles = ", ".join(f"{m['display_name']} ({m['role']})" for m in members)
        say(f"   members now: {roles}")
    say("\ndemo: the groups service followed every change of the auth service")
    return timings
