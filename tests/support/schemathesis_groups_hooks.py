"""schemathesis hooks for the groups API, imported by its CLI (``SCHEMATHESIS_HOOKS``).

Every protected operation is called with the token of a caller the groups view knows.
schemathesis reuses the ids of the groups it created by itself, but a user id it makes
up is never one the view knows (a 409 ``user_not_known``): half of the members a case
adds are swapped for known users, so adding a member, and the stateful phase's removal
of the member just added, reach their success paths too.

A caller who left a group is no member any more, and the group answers them 404 (as it
answers anyone outside it). schemathesis' check that a resource it created stays
available (ST302) only knows that a DELETE of the group itself ends it, so it takes the
404 after a stateful scenario's "leave" for a lost group: that one failure, in a group
the caller has left, is dropped (the report counts what ``filter_failure`` dropped).

Configured by ``PLAYBALL_ST_CALLER`` and ``PLAYBALL_ST_GROUPS_TOKEN`` (the caller's id
and token) and ``PLAYBALL_ST_KNOWN_USERS`` (comma-separated ids of other users the view
knows).
"""

import itertools
import os
import uuid
from typing import Any

import schemathesis

CALLER = os.environ.get("PLAYBALL_ST_CALLER", "")
TOKEN = os.environ.get("PLAYBALL_ST_GROUPS_TOKEN", "")
MEMBER = "/groups/{group_id}/members/{user_id}"
KNOWN_USERS = [user for user in os.environ.get("PLAYBALL_ST_KNOWN_USERS", "").split(",") if user]
_known_users = itertools.cycle(KNOWN_USERS)
_left: set[str] = set()  # ids of the groups the caller left


@schemathesis.auth().apply_to(path_regex="^/groups")
class CallerToken:
    def get(self, _case: schemathesis.Case[Any], _context: schemathesis.AuthContext) -> str:
        return TOKEN

    def set(
        self, case: schemathesis.Case[Any], data: str, _context: schemathesis.AuthContext
    ) -> None:
        case.headers["Authorization"] = f"Bearer {data}"


def _half_of_the_valid_ids(value: object) -> bool:
    """Decided by the generated value itself, so a rerun with the seed swaps the same."""
    try:
        return uuid.UUID(str(value)).int % 2 == 0
    except ValueError:
        return False  # a malformed id is the case's point: keep it


@schemathesis.hook
def before_call(
    context: schemathesis.HookContext, case: schemathesis.Case[Any], kwargs: dict[str, Any]
) -> None:
    operation = context.operation
    if operation is None or (operation.method.upper(), operation.path) != (
        "POST",
        "/groups/{group_id}/members",
    ):
        return
    body = case.body
    if KNOWN_USERS and isinstance(body, dict) and _half_of_the_valid_ids(body.get("user_id")):
        body["user_id"] = next(_known_users)


@schemathesis.hook
def after_call(
    context: schemathesis.HookContext, case: schemathesis.Case[Any], response: Any
) -> None:
    parameters = case.path_parameters or {}
    if (
        context.operation is not None
        and (case.method.upper(), context.operation.path) == ("DELETE", MEMBER)
        and str(parameters.get("user_id", "")).lower() == CALLER
        and 200 <= response.status_code < 300
    ):
        _left.add(str(parameters["group_id"]).lower())


@schemathesis.hook
def filter_failure(
    context: schemathesis.HookContext, failure: Any, case: schemathesis.Case[Any], response: Any
) -> bool:
    group = str((case.path_parameters or {}).get("group_id", "")).lower()
    return not (failure.code == "ST302" and group in _left)
