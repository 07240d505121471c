"""What a valid username, email, display name and password are.

Each check raises :class:`InvalidFieldError` (a ``ValueError``, so pydantic reports it as a 422
in the API). Every text must be encodable as UTF-8 (no lone surrogates) and free of
control characters (PostgreSQL refuses NUL in text): input that would fail in the database
is refused here, as bad input, never as a server error. Limits apply to the normalised
form, the one stored and checked again by the domain, so what passes here passes there.
"""

import functools
import re
import unicodedata

from playball_service_kit import names

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$"
USERNAME_MAX = 32
EMAIL_MAX = 254
# deliberately loose: one @, a dot in the domain, no spaces or controls (C0 and C1, as
# unicodedata's Cc, so the pattern in the OpenAPI and the check agree); the real check
# is whether mail arrives, which is not this service's business
EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+\.[^@\s\x00-\x1f\x7f-\x9f]+$"
DISPLAY_NAME_MAX = 64
PASSWORD_MIN = 12
PASSWORD_MAX = 256

_USERNAME = re.compile(USERNAME_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)


class InvalidFieldError(ValueError):
    """A field value breaks a rule; the message says which rule."""


class WeakPasswordError(InvalidFieldError):
    """The password is one attackers try first; the API answers it with its own code."""

    code = "weak_password"


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
    """A plausible address, lower-cased (stored and compared that way).

    The length counts the lower-cased form: lower-casing never shortens a text but may
    lengthen it (``İ`` becomes ``i̇``, two characters), so a limit checked before it would
    let an over-long address through to the domain's own, later check.
    """
    _text(value, "email")
    lowered = value.lower()
    if len(lowered) > EMAIL_MAX:
        msg = f"email must be at most {EMAIL_MAX} characters once lower-cased"
        raise InvalidFieldError(msg)
    if not _EMAIL.fullmatch(value):
        msg = "email must look like name@example.org"
        raise InvalidFieldError(msg)
    return lowered


def check_display_name(value: str) -> str:
    """The NFC form of a name of 1-64 characters that shows what it says (see
    :mod:`playball_service_kit.names`)."""
    try:
        return names.check_name(value, field="display_name", max_length=DISPLAY_NAME_MAX)
    except names.InvalidNameError as exc:
        raise InvalidFieldError(str(exc)) from None


@functools.cache
def common_passwords() -> frozenset[str]:
    """zxcvbn's list of the most used passwords, in the form :func:`password_key` gives.

    Read once per process, at the first call; the API calls it as it starts.
    """
    # zxcvbn ships no type information; the list is all this service takes from it
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]  # noqa: PLC0415

    listed: list[str] = FREQUENCY_LISTS["passwords"]
    return frozenset(password_key(password) for password in listed)


def password_key(value: str) -> str:
    """The form compared with the list: NFKC then case-folded, so full-width letters match
    their ASCII forms and case does not count."""
    return unicodedata.normalize("NFKC", value).casefold()


def check_not_common(value: str) -> str:
    """Refuse a password on the common-password list, whatever its length."""
    if password_key(value) in common_passwords():
        msg = "password is too common: it is on a list of passwords attackers try first"
        raise WeakPasswordError(msg)
    return value


def check_password(value: str) -> str:
    """A new password: 12-256 characters of any text, not a common one. It is hashed,
    never stored, so NUL is harmless. Logins verify any text: these rules apply only to
    a password being set, so an older, shorter one keeps working until it is changed."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        msg = "password is not valid Unicode text (lone surrogate)"
        raise InvalidFieldError(msg) from None
    if not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        msg = f"password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters"
        raise InvalidFieldError(msg)
    return check_not_common(value)
