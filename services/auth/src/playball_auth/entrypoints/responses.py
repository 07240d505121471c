"""The error responses the auth API's operations declare in the OpenAPI, in one table.

Each operation lists the statuses it can answer (:func:`errors`); clients and
schemathesis hold it to them.
"""

from typing import Any

from playball_service_kit.api_errors import ErrorBody

from playball_auth.entrypoints.schemas import OAuthErrorBody

RETRY_AFTER: dict[str, Any] = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    }
}

_DESCRIPTIONS = {
    400: "the body cannot be parsed at all (not UTF-8, say)",
    401: "missing, invalid or expired token (or wrong credentials on /token)",
    403: "reauthentication_required: current_password is missing or wrong (a wrong one "
    "counts as a failed login)",
    409: "username_taken, email_taken, or concurrent_update",
    429: "too_many_attempts: too many failed logins for the account or from the address; "
    "not even the right password is checked until Retry-After seconds have passed",
    503: "database_unavailable: the database is unreachable; database_busy (with "
    "Retry-After): every database connection is in use; busy (Retry-After: 1): every "
    "password-hashing slot is taken. Try again later",
}
_HEADERS = {429: RETRY_AFTER, 503: RETRY_AFTER}

OAUTH_ERRORS = (
    "OAuth2 errors, with `error` as RFC 6749 names it: invalid_request, "
    "unsupported_grant_type, invalid_scope, invalid_grant (a refresh token that is "
    "unknown, expired, revoked or already spent; presenting a spent one revokes its "
    "chain); or a body that cannot be parsed at all (malformed_body, without `error`)"
)


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an operation answering these error statuses."""
    declared: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        declared[code] = _response(ErrorBody, _DESCRIPTIONS[code], code)
    return declared


def oauth_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Like :func:`errors`, with the token endpoint's 400 in OAuth2's shape."""
    return {**errors(*codes), 400: _response(OAuthErrorBody | ErrorBody, OAUTH_ERRORS, 400)}


def _response(model: Any, description: str, code: int) -> dict[str, Any]:
    """``model``: a pydantic model, or a union of them."""
    response: dict[str, Any] = {"model": model, "description": description}
    if code in _HEADERS:
        response["headers"] = _HEADERS[code]
    return response
