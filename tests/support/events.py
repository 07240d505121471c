"""Contract events for tests: valid by construction, fresh ids every call."""

import datetime as dt
import uuid

from playball_events.contracts import UserDeleted, UserRegistered


def registered(
    user_version: int = 1, username: str = "ada", display_name: str = "Ada Lovelace"
) -> UserRegistered:
    return UserRegistered(
        event_id=uuid.uuid4(),
        occurred_at=dt.datetime.now(dt.UTC),
        user_id=uuid.uuid4(),
        user_version=user_version,
        username=username,
        display_name=display_name,
    )


def deleted(user_version: int = 3) -> UserDeleted:
    return UserDeleted(
        event_id=uuid.uuid4(),
        occurred_at=dt.datetime.now(dt.UTC),
        user_id=uuid.uuid4(),
        user_version=user_version,
    )
