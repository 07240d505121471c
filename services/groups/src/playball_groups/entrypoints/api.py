"""The groups HTTP API (FastAPI). Every route but ``/healthz`` needs auth's bearer token."""

import dataclasses
import logging
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from playball_service_kit.api_errors import ErrorBody, error_response, install_error_handlers
from playball_service_kit.http_limits import DEFAULT_MAX_BODY, install_http_limits
from playball_service_kit.openapi_links import install_links

from playball_groups.domain.model import (
    AlreadyMemberError,
    ConcurrentUpdateError,
    Group,
    GroupNotFoundError,
    GroupsError,
    MemberNotFoundError,
    NotAdminError,
    NotAllowedError,
    StaleVersionError,
    UserDeletedError,
    UserNotKnownError,
)
from playball_groups.entrypoints import openapi_links
from playball_groups.entrypoints.schemas import (
    GroupCreate,
    GroupOut,
    GroupRename,
    HealthOut,
    MemberAdd,
    MemberOut,
)
from playball_groups.service_layer import groups as use_cases
from playball_groups.service_layer.tokens import (
    InvalidTokenError,
    TokenKeysUnavailableError,
    TokenVerifier,
)
from playball_groups.service_layer.unit_of_work import DatabaseBusyError, UnitOfWork

RETRY_AFTER = "1"  # seconds; an unknown user is usually an event still in flight
BUSY_RETRY_AFTER = "1"  # seconds; a pool stays exhausted about as long as a request runs
# seconds; with no usable key set, groups asks auth again at most once a second, but an
# auth that is down is usually restarting, which takes a few seconds
KEYS_RETRY_AFTER = "5"

_log = logging.getLogger(__name__)

STATUS_OF: dict[type[GroupsError], int] = {
    GroupNotFoundError: 404,
    MemberNotFoundError: 404,
    NotAdminError: 403,
    NotAllowedError: 403,
    StaleVersionError: 409,
    AlreadyMemberError: 409,
    ConcurrentUpdateError: 409,
    UserNotKnownError: 409,
    UserDeletedError: 409,
}


def _doc(description: str, retry_after: str | None = None) -> dict[str, Any]:
    """An error's OpenAPI entry; ``retry_after`` names the codes that carry Retry-After."""
    entry: dict[str, Any] = {"model": ErrorBody, "description": description}
    if retry_after:
        entry["headers"] = {
            "Retry-After": {
                "description": f"seconds to wait before retrying ({retry_after} only)",
                "schema": {"type": "string"},
            }
        }
    return entry


COMMON: dict[int | str, dict[str, Any]] = {
    401: _doc("missing, forged, expired or foreign token (invalid_token)"),
    409: _doc(
        "the caller or the named user is not known yet (user_not_known, with Retry-After) "
        "or deleted (user_deleted); or a state conflict (stale_version, already_member, "
        "concurrent_update)",
        retry_after="user_not_known",
    ),
    503: _doc(
        "the database is unreachable (unavailable) or has no free connection "
        "(database_busy, with Retry-After), or groups has no usable signing keys from the "
        "auth service (auth_unavailable, with Retry-After)",
        retry_after="database_busy and auth_unavailable",
    ),
}
MEMBER_ONLY = {**COMMON, 404: _doc("no such group, or the caller is not a member")}
ADMIN_ONLY = {**MEMBER_ONLY, 403: _doc("the caller is not an admin of the group")}
UNPARSABLE: dict[int | str, dict[str, Any]] = {
    400: _doc("the body is not parsable JSON at all (bad_request)")
}


def create_app(
    unit_of_work: Callable[[], UnitOfWork],
    verifier: TokenVerifier,
    *,
    is_unavailable: Callable[[Exception], bool] = lambda _exc: False,
    health: Callable[[], bool] = lambda: True,
    max_body: int = DEFAULT_MAX_BODY,
    instance: str | None = None,
) -> FastAPI:
    """The API on these ports. ``is_unavailable`` tells a database that is down (503
    ``unavailable``) from a bug; ``max_body`` is the largest request body read, bytes;
    ``/healthz`` echoes ``instance``, the nonce of this start (:mod:`playball_core.instance`),
    so a supervisor knows the answer is its process's."""
    app = FastAPI(
        title="PlayBall groups",
        version="1.0.0",
        description="Groups of players, over a local view of users fed by auth's events.",
    )
    install_links(app, openapi_links.LINKS)
    bearer = HTTPBearer(auto_error=False, description="an access token from the auth service")

    def caller(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> uuid.UUID:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise InvalidTokenError("a bearer token is required")
        return verifier.caller(credentials.credentials)

    Caller = Annotated[uuid.UUID, Depends(caller)]  # noqa: N806 - a type alias

    install_error_handlers(app, unparsable_body="bad_request")
    install_http_limits(app, max_body=max_body)

    # A token error's text is PyJWT's and a key error's names the JWKS URL: both go to the
    # log, and the body says only what the client can act on.
    @app.exception_handler(InvalidTokenError)
    def invalid_token(_request: Request, exc: InvalidTokenError) -> JSONResponse:
        _log.info("refused a token: %s", exc)
        headers = {"WWW-Authenticate": "Bearer"}
        return error_response(401, "invalid or expired token", "invalid_token", headers)

    @app.exception_handler(TokenKeysUnavailableError)
    def keys_unavailable(_request: Request, exc: TokenKeysUnavailableError) -> JSONResponse:
        _log.warning("cannot fetch the auth service's keys: %s", exc)
        headers = {"Retry-After": KEYS_RETRY_AFTER}
        detail = "the auth service's signing keys are unavailable; retry later"
        return error_response(503, detail, "auth_unavailable", headers)

    @app.exception_handler(DatabaseBusyError)
    def database_busy(_request: Request, exc: DatabaseBusyError) -> JSONResponse:
        _log.warning("no free database connection: %s", exc)
        headers = {"Retry-After": BUSY_RETRY_AFTER}
        detail = "the database has no free connection; retry shortly"
        return error_response(503, detail, "database_busy", headers)

    @app.exception_handler(GroupsError)
    def domain_error(_request: Request, exc: GroupsError) -> JSONResponse:
        headers = {"Retry-After": RETRY_AFTER} if isinstance(exc, UserNotKnownError) else None
        return error_response(STATUS_OF.get(type(exc), 409), str(exc), exc.code, headers)

    @app.exception_handler(Exception)
    def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        if is_unavailable(exc):
            _log.warning("database unreachable: %s", exc)
            return error_response(503, "the database is unreachable; retry later", "unavailable")
        raise exc

    @app.get(
        "/healthz",
        response_model=HealthOut,
        response_model_exclude_none=True,  # no nonce: no "instance" at all, never null
        responses={503: {"model": HealthOut, "description": "the database is unreachable"}},
        tags=["health"],
    )
    def healthz() -> Any:
        if health():
            return HealthOut(status="ok", database="ok", instance=instance)
        down = HealthOut(status="unavailable", database="unreachable", instance=instance)
        return JSONResponse(down.model_dump(exclude_none=True), status_code=503)

    @app.get("/groups", response_model=list[GroupOut], responses=COMMON, tags=["groups"])
    def list_groups(me: Caller) -> Any:
        return [GroupOut(**vars_of(g)) for g in use_cases.list_groups(unit_of_work(), me)]

    @app.post(
        "/groups",
        response_model=GroupOut,
        status_code=status.HTTP_201_CREATED,
        responses={**COMMON, **UNPARSABLE},
        tags=["groups"],
    )
    def create_group(body: GroupCreate, me: Caller) -> Any:
        return GroupOut(**vars_of(use_cases.create_group(unit_of_work(), me, body.name)))

    @app.get("/groups/{group_id}", response_model=GroupOut, responses=MEMBER_ONLY, tags=["groups"])
    def get_group(group_id: uuid.UUID, me: Caller) -> Any:
        return GroupOut(**vars_of(use_cases.get_group(unit_of_work(), me, group_id)))

    @app.patch(
        "/groups/{group_id}",
        response_model=GroupOut,
        responses={**ADMIN_ONLY, **UNPARSABLE},
        tags=["groups"],
    )
    def rename_group(group_id: uuid.UUID, body: GroupRename, me: Caller) -> Any:
        renamed = use_cases.rename_group(unit_of_work(), me, group_id, body.name, body.version)
        return GroupOut(**vars_of(renamed))

    @app.delete(
        "/groups/{group_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=ADMIN_ONLY,
        tags=["groups"],
    )
    def delete_group(group_id: uuid.UUID, me: Caller) -> Response:
        use_cases.delete_group(unit_of_work(), me, group_id)
        return Response(status_code=204)

    @app.get(
        "/groups/{group_id}/members",
        response_model=list[MemberOut],
        responses=MEMBER_ONLY,
        tags=["members"],
    )
    def list_members(group_id: uuid.UUID, me: Caller) -> Any:
        return [
            MemberOut(user_id=m.user_id, display_name=m.display_name, role=m.role.value)
            for m in use_cases.list_members(unit_of_work(), me, group_id)
        ]

    @app.post(
        "/groups/{group_id}/members",
        response_model=MemberOut,
        status_code=status.HTTP_201_CREATED,
        responses={**ADMIN_ONLY, **UNPARSABLE},
        tags=["members"],
    )
    def add_member(group_id: uuid.UUID, body: MemberAdd, me: Caller) -> Any:
        member = use_cases.add_member(unit_of_work(), me, group_id, body.user_id)
        return MemberOut(
            user_id=member.user_id, display_name=member.display_name, role=member.role.value
        )

    @app.delete(
        "/groups/{group_id}/members/{user_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses={
            **MEMBER_ONLY,
            403: _doc("the caller is neither an admin nor the member themself"),
            404: _doc("no such group, the caller is not a member, or the user is not one"),
        },
        tags=["members"],
    )
    def remove_member(group_id: uuid.UUID, user_id: uuid.UUID, me: Caller) -> Response:
        use_cases.remove_member(unit_of_work(), me, group_id, user_id)
        return Response(status_code=204)

    return app


def vars_of(group: Group) -> dict[str, Any]:
    return dataclasses.asdict(group)
