"""Checking a password against a stored hash, and what a check proves.

Passwords are hashed in their NFKC form, so that the same password typed on another
keyboard or input method (full-width digits, a composed or decomposed accent) still
matches. Hashes made before that rule hold the password as it was typed: a check tries
the NFKC form first, then the raw form, and says when the raw form matched so the caller
can store the NFKC hash instead. No length or strength rule applies here: an existing
user's older, shorter password keeps working until it is changed.
"""

import enum
import functools
import unicodedata
import uuid
from dataclasses import dataclass

from playball_auth.domain import rules
from playball_auth.service_layer.ports import PasswordHasher


class Check(enum.Enum):
    WRONG = "wrong"
    MATCHED = "matched"
    MATCHED_RAW = "matched_raw"  # an old hash of the raw form: store the NFKC form's


def normalized(password: str) -> str:
    """The form new passwords are hashed in."""
    return unicodedata.normalize("NFKC", password)


def check(passwords: PasswordHasher, password_hash: str, password: str) -> Check:
    nfkc = normalized(password)
    if passwords.verify(password_hash, nfkc):
        return Check.MATCHED
    if nfkc != password and passwords.verify(password_hash, password):
        return Check.MATCHED_RAW
    return Check.WRONG


# argon2 is slow on purpose; an unknown username must cost the same as a wrong password,
# so response times do not reveal which usernames exist
_DUMMY_PASSWORD = "not-a-real-password"  # noqa: S105


@functools.lru_cache(maxsize=4)
def _dummy_hash(passwords: PasswordHasher) -> str:
    return passwords.hash(_DUMMY_PASSWORD)


def check_nothing(passwords: PasswordHasher, password: str) -> None:
    """Spend what :func:`check` of a wrong ``password`` would (one or two verifies)."""
    dummy = _dummy_hash(passwords)
    passwords.verify(dummy, _DUMMY_PASSWORD)
    if plausible_password(password) and normalized(password) != password:
        passwords.verify(dummy, _DUMMY_PASSWORD)


def plausible_password(password: str) -> bool:
    """Text a hasher can take (no lone surrogates)."""
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def plausible_username(username: str) -> bool:
    try:
        rules.check_username(username)
    except rules.InvalidFieldError:
        return False
    return True


def throttle_key(username: str) -> str | None:
    """The account's key in the login throttle: the name as usernames are compared
    (case-insensitive), so ``Alice`` and ``ALICE`` share one count. None for a name no
    account can have: there is nothing to lock (the address still counts), and such
    text (NUL, a megabyte) never reaches the database."""
    if not plausible_username(username):
        return None
    return rules.username_key(username)


@dataclass(frozen=True, slots=True)
class Reauthenticated:
    """Proof that the caller has just given this user's current password: what
    changing the password or the email, or deleting the account, requires."""

    user_id: uuid.UUID
