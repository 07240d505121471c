"""The User aggregate: an account, the public state the contracts carry, and its events.

``version`` counts changes to the *contract* fields (:data:`CONTRACT_FIELDS`): 1 at
registration, +1 for each change of username or display name, and the deleting event
carries one more. Each such change also records its contract event in ``events``, in
the same method, so the version and the event cannot part; saving the user is what
enqueues the recorded events (the persistence adapter does it when it saves the user,
and refuses to save a contract change no event describes).
"""

import uuid
from datetime import datetime

from playball_events.contracts import UserDeleted, UserRegistered, UserUpdated

from playball_auth.domain import rules

# The fields the user events carry; a change to any other field (email, password hash)
# is invisible to other services and records no event.
CONTRACT_FIELDS = ("username", "display_name")

UserEvent = UserRegistered | UserUpdated | UserDeleted
"""A contract event of a user; each carries the user's version after its change."""


class User:
    """A user account. Created with :meth:`register`; changed through its methods.

    ``events`` holds the events recorded since the user was last saved, oldest first.
    ``now`` is the time of the change (aware UTC), the events' ``occurred_at``.
    """

    id: uuid.UUID
    username: str
    email: str
    password_hash: str
    display_name: str
    version: int
    created_at: datetime
    credentials_version: int
    events: list[UserEvent]

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
        credentials_version: int = 1,
    ) -> None:
        self.id = id
        self.username = username
        self.email = email
        self.password_hash = password_hash
        self.display_name = display_name
        self.version = version
        self.created_at = created_at
        self.credentials_version = credentials_version
        self.events = []

    @classmethod
    def register(
        cls, *, username: str, email: str, password_hash: str, display_name: str, now: datetime
    ) -> "User":
        user = cls(
            id=uuid.uuid4(),
            username=rules.check_username(username),
            email=rules.normalize_email(email),
            password_hash=password_hash,
            display_name=rules.check_display_name(display_name),
            version=1,
            created_at=now,
        )
        user.events.append(user.registered_event(now))
        return user

    def registered_event(self, now: datetime) -> UserRegistered:
        """The account's full public state at its current version.

        Recorded at registration; also what a backfill sends (not recorded then: nothing
        changes), since a consumer can apply it to a user it has never seen.
        """
        return UserRegistered(
            event_id=uuid.uuid4(),
            occurred_at=now,
            user_id=self.id,
            user_version=self.version,
            username=self.username,
            display_name=self.display_name,
        )

    def rename(self, username: str, now: datetime) -> None:
        username = rules.check_username(username)
        if username != self.username:
            self.username = username
            self._contract_changed(now)

    def change_display_name(self, display_name: str, now: datetime) -> None:
        display_name = rules.check_display_name(display_name)
        if display_name != self.display_name:
            self.display_name = display_name
            self._contract_changed(now)

    def change_email(self, email: str) -> None:
        self.email = rules.normalize_email(email)

    def change_password(self, password_hash: str) -> None:
        """A new password: every access token issued before it stops working at auth
        (their ``cv`` claim is now stale) and the refresh tokens are revoked."""
        self.password_hash = password_hash
        self.credentials_version += 1

    def rehash_password(self, password_hash: str) -> None:
        """The same password hashed again (new argon2 cost, or its NFKC form): the
        credentials are unchanged, so tokens stay valid."""
        self.password_hash = password_hash

    def delete(self, now: datetime) -> None:
        """Record the deletion; removing the account is the repository's part."""
        self.version += 1
        self.credentials_version += 1
        self.events.append(
            UserDeleted(
                event_id=uuid.uuid4(), occurred_at=now, user_id=self.id, user_version=self.version
            )
        )

    def _contract_changed(self, now: datetime) -> None:
        self.version += 1
        self.events.append(
            UserUpdated(
                event_id=uuid.uuid4(),
                occurred_at=now,
                user_id=self.id,
                user_version=self.version,
                username=self.username,
                display_name=self.display_name,
            )
        )

    def __repr__(self) -> str:
        # No username: this repr ends up in error messages (UnrecordedChangeError) and so in
        # logs, where personal data must not go (docs/privacy.md).
        return f"User(id={self.id}, version={self.version})"
