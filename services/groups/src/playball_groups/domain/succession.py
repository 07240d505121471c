"""Who runs a group that lost its admin.

Policy: a group is never left without an admin while it has members. When its last
admin leaves (or is deleted in auth), the longest-standing member (earliest ``joined_at``,
then lowest user id, so every replica picks the same one) becomes admin. A group left
with no members at all is deleted.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

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
