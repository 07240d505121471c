"""The API's request and response bodies (the OpenAPI is generated from them)."""

import datetime as dt
import uuid
from typing import Annotated, Literal

from playball_service_kit.names import NAME_PATTERN
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from playball_groups.domain.group_name import GROUP_NAME_MAX, check_group_name

# The pattern is published, so a client (and schemathesis) knows the rule, but not
# enforced: the rule refuses all it refuses and more, and its 422 names the offending
# character where a pattern mismatch would not.
GroupName = Annotated[
    str,
    Field(min_length=1, max_length=GROUP_NAME_MAX, json_schema_extra={"pattern": NAME_PATTERN}),
    AfterValidator(check_group_name),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroupCreate(Strict):
    # examples in the OpenAPI: shown in /docs, and what schemathesis' examples phase sends
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Sunday league"}]})

    name: GroupName


class GroupRename(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Sunday league, 2027", "version": 1}]}
    )

    name: GroupName
    version: int = Field(ge=1, le=2_147_483_647, description="the version you last read")


class MemberAdd(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_id": "3f2b8c1e-7a4d-4e1b-9c6a-2d5f8e0b1a7c"}]}
    )

    user_id: uuid.UUID


class GroupOut(BaseModel):
    id: uuid.UUID
    name: str
    version: int
    created_at: dt.datetime


class MemberOut(BaseModel):
    user_id: uuid.UUID
    display_name: str
    role: Literal["admin", "member"]


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable"]
    # the nonce `playball up` started this process with (PLAYBALL_INSTANCE_NONCE); left
    # out, never null, when started by hand (the route drops None fields)
    instance: str | SkipJsonSchema[None] = Field(
        default=None, description="the supervisor's nonce for this start, when it gave one"
    )
