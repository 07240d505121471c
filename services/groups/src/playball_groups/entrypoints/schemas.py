"""The API's request and response bodies (the OpenAPI is generated from them)."""

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _storable(value: str) -> str:
    # A lone surrogate survives JSON parsing but no database encodes it: refuse it here
    # (422) rather than fail in the driver (500).
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        msg = "must be valid Unicode text"
        raise ValueError(msg) from None
    if not value.strip():
        msg = "must not be blank"
        raise ValueError(msg)
    return value


# No control characters, and at least one character that is not white space: the
# OpenAPI says so too, so a client (and schemathesis) knows a blank name is refused.
GroupName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
    ),
    AfterValidator(_storable),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroupCreate(Strict):
    name: GroupName


class GroupRename(Strict):
    name: GroupName
    version: int = Field(ge=1, le=2_147_483_647, description="the version you last read")


class MemberAdd(Strict):
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
