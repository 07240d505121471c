"""schemathesis hooks for the auth API, imported by its CLI (``SCHEMATHESIS_HOOKS``).

Generated data alone rarely gets past the rules that matter most here: a made-up
username is taken after its first use (schemathesis repeats its minimal values), a
made-up password is a weak one, and a made-up ``current_password`` is always wrong. So
the hooks steer half of the positive cases to real data, and leave the other half and
every negative case as generated:

- ``POST /users``: a fresh username and email and a strong password, so registration
  (and the stateful phase's log-in that follows it) reaches its success path;
- ``/users/me``: an account token, of an account that changed nothing yet; half of the
  positive cases that send a ``current_password`` send the account's real one, so
  changing and deleting the account succeed too, not only the 403.

An account is reused for the next ``/users/me`` case until an answer may have changed
it (deleted, re-keyed, or counted a wrong password toward its lockout); only
validation errors leave it as it was. Each new account costs two argon2 hashes, the bulk
of the run's time. A case that already carries a token (the stateful phase's, from the
``POST /token`` it followed) keeps it.

Configured by ``PLAYBALL_ST_AUTH_URL``: the API under test.
"""

import itertools
import os
import uuid
from typing import Any

import httpx
import schemathesis
from schemathesis import GenerationMode

BASE_URL = os.environ.get("PLAYBALL_ST_AUTH_URL", "")
ME = "/users/me"
# answers that leave the account as it was: the request was refused before any check
# of the token's account or its password
UNCHANGED = {400, 413, 415, 422}

_every_other = itertools.cycle([True, False])


def fresh_registration() -> dict[str, str]:
    name = f"st{uuid.uuid4().hex[:16]}"
    # random: never on the common-password list
    return {"username": name, "email": f"{name}@example.org", "password": f"st-{uuid.uuid4().hex}"}


class Accounts:
    """The account the ``/users/me`` cases run as, replaced once it may have changed."""

    def __init__(self) -> None:
        self.client = httpx.Client(base_url=BASE_URL, timeout=30)
        self.current: tuple[str, str] | None = None  # (account token, password)

    def take(self) -> tuple[str, str]:
        if self.current is None:
            fields = fresh_registration()
            created = self.client.post("/users", json={**fields, "display_name": "st"})
            created.raise_for_status()
            login = self.client.post(
                "/token",
                data={
                    "grant_type": "password",
                    "username": fields["username"],
                    "password": fields["password"],
                    "scope": "account",
                },
            )
            login.raise_for_status()
            self.current = (str(login.json()["access_token"]), fields["password"])
        return self.current

    def retire(self, token: str) -> None:
        if self.current is not None and self.current[0] == token:
            self.current = None


ACCOUNTS = Accounts()
_passwords: dict[str, tuple[str, str]] = {}  # case id -> the (token, password) it was given


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(path=ME)
class AccountToken:
    def get(
        self, case: schemathesis.Case[Any], _context: schemathesis.AuthContext
    ) -> tuple[str, str] | None:
        if "Authorization" in case.headers:  # case-insensitive
            return None  # a token from a link: the stateful scenario's own account
        return ACCOUNTS.take()

    def set(
        self,
        case: schemathesis.Case[Any],
        data: tuple[str, str],
        _context: schemathesis.AuthContext,
    ) -> None:
        case.headers["Authorization"] = f"Bearer {data[0]}"
        _passwords[case.id] = data


def _is_positive(case: schemathesis.Case[Any]) -> bool:
    return case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE


# Edits go here rather than into the auth provider: schemathesis revalidates a case
# after ``before_call``, so its checks judge the data actually sent.
@schemathesis.hook
def before_call(
    context: schemathesis.HookContext, case: schemathesis.Case[Any], kwargs: dict[str, Any]
) -> None:
    if context.operation is None:
        return
    given = _passwords.get(case.id)
    if given is not None and given != ACCOUNTS.current:
        # The coverage phase makes all its cases before it sends any: an earlier case
        # may have spent the account this one was given.
        given = _passwords[case.id] = ACCOUNTS.take()
        case.headers["Authorization"] = f"Bearer {given[0]}"
    body = case.body
    if not isinstance(body, dict) or not _is_positive(case):
        return
    if (case.method.upper(), context.operation.path) == ("POST", "/users"):
        if next(_every_other):
            body.update(fresh_registration())
    elif given is not None and "current_password" in body and next(_every_other):
        body["current_password"] = given[1]


@schemathesis.hook
def after_call(
    context: schemathesis.HookContext, case: schemathesis.Case[Any], response: Any
) -> None:
    given = _passwords.get(case.id)
    if given is not None and case.method.upper() != "GET" and response.status_code not in UNCHANGED:
        ACCOUNTS.retire(given[0])
