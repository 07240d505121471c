"""Who runs a group that lost its admin.

Policy: a group is never left without an admin while it has members. When its last
admin leaves (or is deleted in auth), the longest-standing member (earliest ``joined_at``,
then lowest user id, so every replica picks the same one) becomes admin. A group left
with no members at all is deleted.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from playball_groups.domain.model import Member, Role


@dataclass(frozen=True, slots=True)
class Succession:
    delete_group: bool = False
    promote: uuid.UUID | None = None


def succession(members: Sequence[Member]) -> Succession:
    if not members:
        return Succession(delete_group=True)
    if any(m.role is Role.ADMIN for m in members):
        return Succession()
    heir = min(members, key=lambda m: (m.joined_at, str(m.user_id)))
    return Succession(promote=heir.user_id)


class Rosters(Protocol):
    """What the policy reads and changes of the groups (the service layer's repository)."""

    def members(self, group_id: uuid.UUID) -> list[Member]: ...

    def delete(self, group_id: uuid.UUID) -> None: ...

    def set_role(self, group_id: uuid.UUID, user_id: uuid.UUID, role: Role) -> None: ...


def settle(groups: Rosters, group_ids: Iterable[uuid.UUID]) -> None:
    """Apply the succession policy to groups that just lost members (API and consumer)."""
    for group_id in group_ids:
        verdict = succession(groups.members(group_id))
        if verdict.delete_group:
            groups.delete(group_id)
        elif verdict.promote is not None:
            groups.set_role(group_id, verdict.promote, Role.ADMIN)
