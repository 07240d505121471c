"""OpenAPI 3 links of the groups API: what a client may do next with a response.

One table, which :mod:`playball_service_kit.openapi_links` adds to the document FastAPI
generates (it has no notion of links). Clients read them as documentation;
schemathesis' stateful phase follows them (create a group, then read, rename, delete
it and manage its members), reaching the success paths that random ids never hit.
"""

from playball_service_kit.openapi_links import Links

# operationRef rather than operationId: FastAPI derives ids from the route functions'
# names, which a refactoring changes without anyone thinking of the links.
_GROUP = "#/paths/~1groups~1{group_id}"
_MEMBERS = "#/paths/~1groups~1{group_id}~1members"
_MEMBER = "#/paths/~1groups~1{group_id}~1members~1{user_id}"
_NEW_GROUP = {"path.group_id": "$response.body#/id"}

# (path, method, status) of a response -> the links it offers
LINKS: Links = {
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
