"""The User aggregate: an account and the public state the contracts carry.

``version`` counts changes to the *contract* fields (:data:`CONTRACT_FIELDS`): 1 at
registration, +1 for each saved change of username or display name, and the deleting
event carries one more. The persistence adapter maintains it when it saves the user (the
same place the events are computed), so the domain only states which fields are public.
"""

import uuid
from datetime import datetime

from playball_auth.domain import rules

# The fields the user events carry; a change to any other field (email, password hash)
# is invisible to other services and produces no event.
CONTRACT_FIELDS = ("username", "display_name")


class User:
    """A user account. Created with :meth:`register`; mutated through its methods."""

    id: uuid.UUID
    username: str
    email: str
    password_hash: str
    display_name: str
    version: int
    created_at: datetime

    def __init__(
        self,
        *,
        id: uuid.UUID,
        username: str,
        email: str,
        password_hash: str,
        display_name: str,
        version: int,
        created_at: datetime,
    ) -> None:
        self.id = id
        self.username = username
        self.email = email
        self.password_hash = password_hash
        self.display_name = display_name
        self.version = version
        self.created_at = created_at

    @classmethod
    def register(
        cls, *, username: str, email: str, password_hash: str, display_name: str, now: datetime
    ) -> "User":
        return cls(
            id=uuid.uuid4(),
            username=rules.check_username(username),
            email=rules.normalize_email(email),
            password_hash=password_hash,
            display_name=rules.check_display_name(display_name),
            version=1,
            created_at=now,
        )

    def rename(self, username: str) -> None:
        self.username = rules.check_username(username)

    def change_display_name(self, display_name: str) -> None:
        self.display_name = rules.check_display_name(display_name)

    def change_email(self, email: str) -> None:
        self.email = rules.normalize_email(email)

    def change_password_hash(self, password_hash: str) -> None:
        self.password_hash = password_hash

    def __repr__(self) -> str:
        return f"User(id={self.id}, username={self.username!r}, version={self.version})"
