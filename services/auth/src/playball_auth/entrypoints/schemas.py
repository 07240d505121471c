"""Request and response bodies of the API, with the domain's rules as validators.

A value the domain would refuse is refused here first, as a 422 in FastAPI's shape: text
that is not valid Unicode (lone surrogates), control characters (PostgreSQL refuses NUL),
oversized strings. So no input reaches the database in a form it would fail on. A common
password is the one 422 with a code of its own (``weak_password``, see the API's handler).
"""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from playball_service_kit.names import NAME_PATTERN
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from playball_auth.domain import rules
from playball_auth.service_layer.handlers import UserSnapshot

# The patterns put the rules into the OpenAPI too, so clients (and schemathesis) know them.
Username = Annotated[
    str,
    Field(min_length=3, max_length=rules.USERNAME_MAX, pattern=rules.USERNAME_PATTERN),
    AfterValidator(rules.check_username),
]
# maxLength bounds the address as sent; the rule bounds its lower-cased form, which is
# never shorter, so the schema refuses nothing the rule accepts.
Email = Annotated[
    str,
    Field(max_length=rules.EMAIL_MAX, pattern=rules.EMAIL_PATTERN),
    AfterValidator(rules.normalize_email),
]
# The pattern is published, not enforced: the rule refuses all it refuses and more, and
# its 422 names the offending character where a pattern mismatch would not.
DisplayName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=rules.DISPLAY_NAME_MAX,
        json_schema_extra={"pattern": NAME_PATTERN},
    ),
    AfterValidator(rules.check_display_name),
]
Password = Annotated[
    str,
    Field(min_length=rules.PASSWORD_MIN, max_length=rules.PASSWORD_MAX),
    AfterValidator(rules.check_password),
]
rules.common_passwords()  # loaded as the API starts, not during someone's registration


class NewUser(BaseModel):
    # an example in the OpenAPI: shown in /docs, and what schemathesis' examples phase sends
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "alice",
                    "email": "alice@example.org",
                    "password": "correct horse battery staple",
                    "display_name": "Alice",
                }
            ]
        },
    )

    username: Username
    email: Email
    password: Password
    display_name: DisplayName


# The password the account has now: any text (an older account's may predate today's
# rules); a wrong one is a 403, not a 422.
CurrentPassword = Annotated[
    str,
    Field(
        max_length=rules.PASSWORD_MAX,
        description="the account's current password: required to change email or password",
    ),
]


class ProfilePatch(BaseModel):
    """Only the fields present change; ``null`` or absent leaves a field as it is. A new
    email or password needs ``current_password``; a display name alone does not."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"display_name": "Alice Cooper"},
                {
                    "email": "alice@example.com",
                    "current_password": "correct horse battery staple",
                },
            ]
        },
    )

    display_name: DisplayName | None = None
    email: Email | None = None
    password: Password | None = None
    current_password: CurrentPassword | None = None


class AccountDeletion(BaseModel):
    """Deleting the account needs its current password."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"current_password": "correct horse battery staple"}]},
    )

    current_password: CurrentPassword | None = None


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

    @classmethod
    def json_of(cls, user: UserSnapshot) -> bytes:
        """The JSON FastAPI would answer for ``UserOut.of(user)``, without validating
        it: a snapshot's fields are typed already, and the validation FastAPI runs on
        every returned model was a tenth of the API's CPU per profile change."""
        constructed = cls.model_construct(
            id=user.id,
            username=user.username,
            email=user.email,
            display_name=user.display_name,
            version=user.version,
            created_at=user.created_at,
        )
        return constructed.__pydantic_serializer__.to_json(constructed, by_alias=True)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, no secret
    expires_in: int = Field(description="seconds until the token expires")
    scope: Literal["groups", "account"] = Field(
        default="groups", description="what the access token is for (its audience)"
    )
    refresh_token: str | None = Field(
        default=None,
        description="single-use: exchange it at POST /token (grant_type=refresh_token) for "
        "a new pair; only scope=groups gets one",
    )


class OAuthErrorBody(BaseModel):
    """An error of the token endpoint: ``error`` is OAuth2's code (RFC 6749 §5.2)."""

    detail: str
    code: str
    error: str


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
    # the nonce `playball up` started this process with (PLAYBALL_INSTANCE_NONCE); left
    # out, never null, when started by hand (the route drops None fields)
    instance: str | SkipJsonSchema[None] = Field(
        default=None, description="the supervisor's nonce for this start, when it gave one"
    )
