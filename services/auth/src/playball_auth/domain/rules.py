"""What a valid username, email, display name and password are.

Each check raises :class:`InvalidFieldError` (a ``ValueError``, so pydantic reports it as a 422
in the API). Every text must be encodable as UTF-8 (no lone surrogates) and free of
control characters (PostgreSQL refuses NUL in text): input that would fail in the database
is refused here, as bad input, never as a server error.
"""

import re
import unicodedata

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$"
USERNAME_MAX = 32
EMAIL_MAX = 254
# deliberately loose: one @, a dot in the domain, no spaces or controls (C0 and C1, as
# unicodedata's Cc, so the pattern in the OpenAPI and the check agree); the real check
# is whether mail arrives, which is not this service's business
EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+\.[^@\s\x00-\x1f\x7f-\x9f]+$"
DISPLAY_NAME_MAX = 64
PASSWORD_MIN = 8
PASSWORD_MAX = 256

_USERNAME = re.compile(USERNAME_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)


class InvalidFieldError(ValueError):
    """A field value breaks a rule; the message says which rule."""


def _text(value: str, what: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        msg = f"{what} is not valid Unicode text (lone surrogate)"
        raise InvalidFieldError(msg) from None
    # Cc: controls incl. NUL; Cs cannot remain after the encode check
    if any(unicodedata.category(char) == "Cc" for char in value):
        msg = f"{what} must not contain control characters"
        raise InvalidFieldError(msg)
    return value


def check_username(value: str) -> str:
    """3-32 ASCII letters, digits, ``_.-``, starting with a letter or digit."""
    if not _USERNAME.fullmatch(value):
        msg = "username must be 3-32 of A-Z a-z 0-9 _ . - and start with a letter or digit"
        raise InvalidFieldError(msg)
    return value


def username_key(value: str) -> str:
    """Usernames are unique regardless of case: ``Alice`` and ``alice`` are one name."""
    return value.lower()


def normalize_email(value: str) -> str:
    """A plausible address, lower-cased (stored and compared that way)."""
    _text(value, "email")
    if len(value) > EMAIL_MAX or not _EMAIL.fullmatch(value):
        msg = "email must look like name@example.org (at most 254 characters)"
        raise InvalidFieldError(msg)
    return value.lower()


def check_display_name(value: str) -> str:
    """1-64 characters of text, not only spaces."""
    _text(value, "display_name")
    if not value.strip() or len(value) > DISPLAY_NAME_MAX:
        msg = f"display_name must be 1-{DISPLAY_NAME_MAX} characters, not only spaces"
        raise InvalidFieldError(msg)
    return value


def check_password(value: str) -> str:
    """8-256 characters of any text: it is hashed, never stored, so NUL is harmless."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        msg = "password is not valid Unicode text (lone surrogate)"
        raise InvalidFieldError(msg) from None
    if not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        msg = f"password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters"
        raise InvalidFieldError(msg)
    return value
