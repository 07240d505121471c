"""The groups service's domain objects."""

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


@dataclass(frozen=True, slots=True)
class KnownUser:
    """What the view keeps of a user id ever seen: its last applied version, or a tombstone.

    A tombstone keeps the version it was deleted at and no names, so a late or redelivered
    event can never bring the user back.
    """

    user_id: uuid.UUID
    user_version: int
    deleted: bool
    username: str | None
    display_name: str | None


@dataclass(frozen=True, slots=True)
class Group:
    id: uuid.UUID
    name: str
    version: int  # bumped on every rename; PATCH must name the version it saw
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Member:
    user_id: uuid.UUID
    role: Role
    joined_at: dt.datetime
    display_name: str


class GroupsError(Exception):
    """A request the domain refuses; ``code`` is the API's machine code."""

    code = "error"


class UserNotKnownError(GroupsError):
    """The user id has no event in the view yet (auth's event may still be on its way)."""

    code = "user_not_known"

    def __init__(self, user_id: uuid.UUID) -> None:
        super().__init__(f"user {user_id} is not known (yet) to the groups service; retry shortly")
        self.user_id = user_id


class UserDeletedError(GroupsError):
    code = "user_deleted"

    def __init__(self, user_id: uuid.UUID) -> None:
        super().__init__(f"user {user_id} has been deleted")
        self.user_id = user_id


class GroupNotFoundError(GroupsError):
    """No such group, or the caller is not a member (the two are not told apart)."""

    code = "group_not_found"

    def __init__(self, group_id: uuid.UUID) -> None:
        super().__init__(f"group {group_id} not found")


class NotAdminError(GroupsError):
    code = "not_admin"

    def __init__(self) -> None:
        super().__init__("only an admin of the group may do this")


class NotAllowedError(GroupsError):
    code = "forbidden"

    def __init__(self) -> None:
        super().__init__("only an admin or the member themself may remove a member")


class StaleVersionError(GroupsError):
    code = "stale_version"

    def __init__(self, group_id: uuid.UUID, current: int) -> None:
        super().__init__(f"group {group_id} is at version {current}; reload and retry")
        self.current = current


class AlreadyMemberError(GroupsError):
    code = "already_member"

    def __init__(self, user_id: uuid.UUID) -> None:
        super().__init__(f"user {user_id} is already a member")


class ConcurrentUpdateError(GroupsError):
    """A write lost a race the database caught (a key or reference constraint)."""

    code = "concurrent_update"

    def __init__(self, group_id: uuid.UUID) -> None:
        super().__init__(f"group {group_id} changed while this request ran; reload and retry")


class MemberNotFoundError(GroupsError):
    code = "member_not_found"

    def __init__(self, user_id: uuid.UUID) -> None:
        super().__init__(f"user {user_id} is not a member of this group")
