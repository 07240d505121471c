"""The ports the use cases run on: repositories inside one transaction."""

import datetime as dt
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import NamedTuple, Self

from playball_groups.domain.model import Group, KnownUser, Member, Role


class UserView(ABC):
    @abstractmethod
    def get_many(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, KnownUser]: ...

    def get(self, user_id: uuid.UUID) -> KnownUser | None:
        return self.get_many([user_id]).get(user_id)

    @abstractmethod
    def save(self, users: Sequence[KnownUser]) -> None:
        """Insert or replace these rows."""


class ProcessedEvent(NamedTuple):
    """One processed-events row (a tuple: the consumer builds one per event)."""

    event_id: uuid.UUID
    topic: str
    partition: int
    offset: int
    processed_at: dt.datetime


class ProcessedEvents(ABC):
    @abstractmethod
    def already(self, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """The ids among these that have a processed row."""

    @abstractmethod
    def record(self, events: Sequence[ProcessedEvent]) -> None:
        """Insert their rows; an id recorded already makes the transaction fail."""

    def claim(self, events: Sequence[ProcessedEvent]) -> set[uuid.UUID]:
        """Record every event not recorded yet; the ids recorded now (the rest: duplicates).

        An adapter may do it in one statement (PostgreSQL: ON CONFLICT DO NOTHING
        RETURNING, which also waits out a concurrent consumer's uncommitted row).
        """
        seen = self.already([e.event_id for e in events])
        fresh: dict[uuid.UUID, ProcessedEvent] = {}
        for event in events:
            if event.event_id not in seen:
                fresh.setdefault(event.event_id, event)
        self.record(list(fresh.values()))
        return set(fresh)

    def claim_duplicates(self, events: Sequence[ProcessedEvent]) -> set[uuid.UUID]:
        """Like :meth:`claim`, but return the ids that had a row BEFORE this call.

        A repeat inside ``events`` is recorded once and is not in the result. On the usual
        batch (no duplicates) the answer is empty, which an adapter can return without
        sending the batch's ids back (PostgreSQL: one statement, no rows returned).
        """
        claimed = self.claim(events)
        return {e.event_id for e in events if e.event_id not in claimed}


class ViewUpserts(ABC):
    """The usual batch, registrations and updates only, as ONE atomic step.

    A unit of work costs a transaction's round trips (BEGIN, each statement, COMMIT); at a
    steady trickle every poll is a batch of one or two events, and those round trips are
    most of the time an event waits in the consumer. An adapter that can do the whole
    step in one statement (PostgreSQL) implements this; the handler falls back on the
    unit of work otherwise, and for any batch that deletes a user.
    """

    @abstractmethod
    def claim_and_upsert(
        self, processed: Sequence[ProcessedEvent], states: Sequence[KnownUser]
    ) -> tuple[set[uuid.UUID], dict[uuid.UUID, KnownUser]]:
        """Claim ``processed`` (as :meth:`ProcessedEvents.claim_duplicates`) and, of the
        events claimed now, write each user's newest state unless the view holds that
        version or a newer one, or the user is deleted; ``states[i]`` is the state event
        ``processed[i]`` brings. Returns the ids that had a processed row before, and the
        view's rows of the batch's users as they were before this step.
        """


class Groups(ABC):
    @abstractmethod
    def add(self, group: Group, admin: uuid.UUID) -> None:
        """A new group, with ``admin`` as its first member (joined at its creation)."""

    @abstractmethod
    def get(self, group_id: uuid.UUID) -> Group | None: ...

    @abstractmethod
    def of_member(self, user_id: uuid.UUID) -> list[Group]: ...

    @abstractmethod
    def role_of(self, group_id: uuid.UUID, user_id: uuid.UUID) -> Role | None: ...

    @abstractmethod
    def members(self, group_id: uuid.UUID) -> list[Member]:
        """Members by join time, with their display names from the user view."""

    @abstractmethod
    def rename(self, group_id: uuid.UUID, name: str, expected_version: int) -> Group | None:
        """The renamed group at version + 1; None when the group is not at that version."""

    @abstractmethod
    def delete(self, group_id: uuid.UUID) -> None: ...

    @abstractmethod
    def add_member(
        self, group_id: uuid.UUID, user_id: uuid.UUID, role: Role, joined_at: dt.datetime
    ) -> None: ...

    @abstractmethod
    def remove_member(self, group_id: uuid.UUID, user_id: uuid.UUID) -> None: ...

    @abstractmethod
    def set_role(self, group_id: uuid.UUID, user_id: uuid.UUID, role: Role) -> None: ...

    @abstractmethod
    def remove_users(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Remove every membership of these users; the ids of the groups they were in."""


class UnitOfWork(ABC):
    """One transaction; leaving the block without :meth:`commit` rolls it back."""

    users: UserView
    processed: ProcessedEvents
    groups: Groups

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.rollback()

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None:
        """Undo what is not committed (a no-op after a commit)."""
