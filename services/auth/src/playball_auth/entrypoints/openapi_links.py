"""OpenAPI 3 links of the auth API: what a client may do next with a response.

One table, which :mod:`playball_service_kit.openapi_links` adds to the document FastAPI
generates (it has no notion of links). Clients read them as documentation;
schemathesis' stateful phase follows them: register, log in with the password just
registered, then use the account token on the account (re-authenticating with that
password), or refresh and revoke the groups tokens.

``requestBody`` holds runtime expressions per field (schemathesis evaluates them field by
field and merges them into the body it generates); the OpenAPI itself only says a link's
request body is a literal or one expression, so other tools may take these literally.
"""

from playball_service_kit.openapi_links import Links

# operationRef rather than operationId: FastAPI derives ids from the route functions'
# names, which a refactoring changes without anyone thinking of the links.
_ISSUE_TOKENS = "#/paths/~1token/post"
_ME = "#/paths/~1users~1me"
_BEARER = {"header.Authorization": "Bearer {$response.body#/access_token}"}

# (path, method, status) of a response -> the links it offers
LINKS: Links = {
    ("/users", "post", "201"): {
        "LogIn": {
            "operationRef": _ISSUE_TOKENS,
            "description": "groups and refresh tokens for the new user, with the password "
            "just registered",
            "requestBody": {
                "grant_type": "password",
                "username": "$request.body#/username",
                "password": "$request.body#/password",
                "scope": "groups",
            },
        },
        "LogInToAccount": {
            "operationRef": _ISSUE_TOKENS,
            "description": "an account token for the new user, for /users/me",
            "requestBody": {
                "grant_type": "password",
                "username": "$request.body#/username",
                "password": "$request.body#/password",
                "scope": "account",
            },
        },
    },
    ("/token", "post", "200"): {
        "GetAccount": {
            "operationRef": f"{_ME}/get",
            "description": "the account, with the token just issued (of scope account; "
            "a groups token is refused)",
            "parameters": _BEARER,
        },
        "ChangeAccount": {
            "operationRef": f"{_ME}/patch",
            "description": "change the account, re-authenticating with the password "
            "just logged in with",
            "parameters": _BEARER,
            "requestBody": {"current_password": "$request.body#/password"},
        },
        "DeleteAccount": {
            "operationRef": f"{_ME}/delete",
            "description": "delete the account, re-authenticating with the password "
            "just logged in with",
            "parameters": _BEARER,
            "requestBody": {"current_password": "$request.body#/password"},
        },
        "Refresh": {
            "operationRef": _ISSUE_TOKENS,
            "description": "a new pair of groups tokens; the refresh token is spent",
            "requestBody": {
                "grant_type": "refresh_token",
                "refresh_token": "$response.body#/refresh_token",
                "scope": "groups",
            },
        },
        "LogOut": {
            "operationRef": "#/paths/~1logout/post",
            "description": "revoke the refresh token and every token of its chain",
            "requestBody": {"refresh_token": "$response.body#/refresh_token"},
        },
    },
}
