"""The auth API's 422: FastAPI's list of field errors, or ``{detail, code}`` for a weak
password, which a client must tell apart from a malformed one to say what to do."""

from typing import Any

from fastapi import status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from playball_service_kit.api_errors import ErrorBody, error_response
from pydantic import BaseModel

from playball_auth.domain.rules import WeakPasswordError


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class FieldErrors(BaseModel):
    detail: list[FieldError]


INVALID_INPUT: dict[int | str, dict[str, Any]] = {
    422: {
        "model": FieldErrors | ErrorBody,
        "description": "a field is invalid: FastAPI's list of field errors, or "
        "{detail, code: weak_password} when the only fault is a common password",
    }
}


def weak_password_response(exc: RequestValidationError) -> JSONResponse | None:
    """The ``weak_password`` answer when a common password is the request's only fault;
    None otherwise, as several faults are better listed together."""
    errors = exc.errors()
    weak = [error.get("ctx", {}).get("error") for error in errors]
    if not errors or not all(isinstance(error, WeakPasswordError) for error in weak):
        return None
    first = weak[0]
    assert isinstance(first, WeakPasswordError)  # for mypy: checked just above
    return error_response(status.HTTP_422_UNPROCESSABLE_CONTENT, str(first), first.code)
