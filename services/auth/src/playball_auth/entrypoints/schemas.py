"""Request and response bodies of the API, with the domain's rules as validators.

A value the domain would refuse is refused here first, as a 422 in FastAPI's shape: text
that is not valid Unicode (lone surrogates), control characters (PostgreSQL refuses NUL),
oversized strings. So no input reaches the database in a form it would fail on.
"""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from playball_auth.domain import rules
from playball_auth.service_layer.handlers import UserSnapshot

# Cc is \x00-\x1f and \x7f-\x9f; the patterns put the rules into the OpenAPI too, so
# clients (and schemathesis) know them: no controls, and at least one non-space
_TEXT = r"[^\x00-\x1f\x7f-\x9f]"
_DISPLAY_NAME = rf"^{_TEXT}*[^\s\x00-\x1f\x7f-\x9f]{_TEXT}*$"

Username = Annotated[
    str,
    Field(min_length=3, max_length=rules.USERNAME_MAX, pattern=rules.USERNAME_PATTERN),
    AfterValidator(rules.check_username),
]
Email = Annotated[
    str,
    Field(max_length=rules.EMAIL_MAX, pattern=rules.EMAIL_PATTERN),
    AfterValidator(rules.normalize_email),
]
DisplayName = Annotated[
    str,
    Field(min_length=1, max_length=rules.DISPLAY_NAME_MAX, pattern=_DISPLAY_NAME),
    AfterValidator(rules.check_display_name),
]
Password = Annotated[
    str,
    Field(min_length=rules.PASSWORD_MIN, max_length=rules.PASSWORD_MAX),
    AfterValidator(rules.check_password),
]


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    email: Email
    password: Password
    display_name: DisplayName


class ProfilePatch(BaseModel):
    """Only the fields present change; ``null`` or absent leaves a field as it is."""

    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    email: Email | None = None
    password: Password | None = None


class UserOut(BaseModel):
    # read from a UserSnapshot by attribute name (no docstring: it would show in the OpenAPI)
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    email: str
    display_name: str
    version: int = Field(description="counts changes to username and display_name")
    created_at: datetime

    @classmethod
    def of(cls, user: UserSnapshot) -> "UserOut":
        return cls.model_validate(user)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, no secret
    expires_in: int = Field(description="seconds until the token expires")


class Jwk(BaseModel):
    model_config = ConfigDict(extra="allow")

    kty: str
    kid: str
    use: str
    alg: str
    n: str
    e: str


class Jwks(BaseModel):
    keys: list[Jwk]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
