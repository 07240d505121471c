"""OpenAPI 3 links of the groups API: what a client may do next with a response.

FastAPI generates the OpenAPI from the routes and has no notion of links, so they are
added to the generated document here, in one table, instead of cluttering each route.
Clients read them as documentation; schemathesis' stateful phase follows them (create a
group, then read, rename, delete it and manage its members), reaching the success paths
that random ids never hit.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

# operationRef rather than operationId: FastAPI derives ids from the route functions'
# names, which a refactoring changes without anyone thinking of the links.
_GROUP = "#/paths/~1groups~1{group_id}"
_MEMBERS = "#/paths/~1groups~1{group_id}~1members"
_MEMBER = "#/paths/~1groups~1{group_id}~1members~1{user_id}"
_NEW_GROUP = {"path.group_id": "$response.body#/id"}

# (path, method, status) of a response -> the links it offers
LINKS: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {
    ("/groups", "post", "201"): {
        "GetGroup": {"operationRef": f"{_GROUP}/get", "parameters": _NEW_GROUP},
        "RenameGroup": {
            "operationRef": f"{_GROUP}/patch",
            "parameters": _NEW_GROUP,
            # the version just created, so the rename is not refused as stale
            "requestBody": {"version": "$response.body#/version"},
        },
        "DeleteGroup": {"operationRef": f"{_GROUP}/delete", "parameters": _NEW_GROUP},
        "ListMembers": {"operationRef": f"{_MEMBERS}/get", "parameters": _NEW_GROUP},
        "AddMember": {"operationRef": f"{_MEMBERS}/post", "parameters": _NEW_GROUP},
    },
    ("/groups/{group_id}/members", "post", "201"): {
        "RemoveMember": {
            "operationRef": f"{_MEMBER}/delete",
            "parameters": {
                "path.group_id": "$request.path.group_id",
                "path.user_id": "$response.body#/user_id",
            },
        },
    },
}


def with_links(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (an OpenAPI dict) with :data:`LINKS` added to its responses.

    A link whose source response is gone from the routes raises KeyError: that is a
    change of the code, not of the input, so the first test reading the OpenAPI fails.
    """
    for (path, method, status), links in LINKS.items():
        response = document["paths"][path][method]["responses"][status]
        response["links"] = {**response.get("links", {}), **links}
    return document


def install(app: FastAPI) -> None:
    """Make ``app`` serve its OpenAPI with the links (FastAPI caches the document)."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    app.openapi = lambda: with_links(generate())  # type: ignore[method-assign]
