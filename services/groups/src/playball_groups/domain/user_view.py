"""How user events change the view: the version guard and the tombstone.

- UserRegistered / UserUpdated: the user's full state, unless its version is <= the
  stored one, or the user is deleted;
- UserDeleted: a tombstone (deleted, at the higher of both versions); memberships go.

Events carry full state, so a gap in versions is fine: the highest version wins. A
deletion is final (user ids are never reused and a deleted account cannot change), so
no later version, however high, brings a deleted user back.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from playball_events.contracts import UserDeleted, UserRegistered, UserUpdated

from playball_groups.domain.model import KnownUser

UserEvent = UserRegistered | UserUpdated | UserDeleted
UserState = UserRegistered | UserUpdated  # an event that carries the user's full state


class Verdict(Enum):
    APPLIED = "applied"
    STALE = "stale"


@dataclass(slots=True)
class Folded:
    """The view's new rows and what each event did."""

    changed: dict[uuid.UUID, KnownUser] = field(default_factory=dict)
    newly_deleted: set[uuid.UUID] = field(default_factory=set)
    verdicts: list[Verdict] = field(default_factory=list)


def apply_event(current: KnownUser | None, event: UserEvent) -> KnownUser | None:
    """The user's new row, or None when the event is stale."""
    if isinstance(event, UserDeleted):
        if current is not None and current.deleted:
            return None  # deleted already: nothing more to do
        version = max(event.user_version, current.user_version if current else 0)
        return KnownUser(event.user_id, version, deleted=True, username=None, display_name=None)
    if current is not None and (current.deleted or event.user_version <= current.user_version):
        return None
    return KnownUser(
        event.user_id,
        event.user_version,
        deleted=False,
        username=event.username,
        display_name=event.display_name,
    )


def fold(current: Mapping[uuid.UUID, KnownUser], events: Sequence[UserEvent]) -> Folded:
    """Apply ``events`` in order on top of ``current`` (rows of the users they name)."""
    result = Folded()
    state = dict(current)
    for event in events:
        before = state.get(event.user_id)
        after = apply_event(before, event)
        if after is None:
            result.verdicts.append(Verdict.STALE)
            continue
        state[event.user_id] = result.changed[event.user_id] = after
        if after.deleted:
            result.newly_deleted.add(event.user_id)
        result.verdicts.append(Verdict.APPLIED)
    return result
