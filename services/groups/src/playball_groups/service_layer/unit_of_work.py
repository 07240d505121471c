"""The ports the use cases and the consumer's handler run on: repositories inside one
transaction (a unit of work's, or the consumer loop's)."""

import datetime as dt
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from playball_service_kit import unit_of_work as service_kit

from playball_groups.domain.model import Group, KnownUser, Member, Role
from playball_groups.domain.user_view import UserState, Verdict

Tx = TypeVar("Tx")  # a transaction the caller opened, and commits


class UserView(ABC):
    @abstractmethod
    def get_many(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, KnownUser]: ...

    def get(self, user_id: uuid.UUID) -> KnownUser | None:
        return self.get_many([user_id]).get(user_id)

    def get_locked(self, user_id: uuid.UUID) -> KnownUser | None:
        """The user, its row held against concurrent change until the transaction ends:
        a deletion applied meanwhile waits, then sees what this transaction wrote.
        Raises :class:`LockConflictError` when the database broke a deadlock by failing
        this transaction. This default takes no lock: for a store with one writer at a
        time."""
        return self.get(user_id)

    @abstractmethod
    def save(self, users: Sequence[KnownUser]) -> None:
        """Insert these rows, or replace stored ones where the version guard allows (never
        an older state over a newer one, nothing over a deleted user)."""


class Groups(ABC):
    @abstractmethod
    def add(self, group: Group, admin: uuid.UUID) -> None:
        """A new group, with ``admin`` as its first member (joined at its creation)."""

    @abstractmethod
    def get(self, group_id: uuid.UUID) -> Group | None: ...

    @abstractmethod
    def lock(self, group_id: uuid.UUID) -> Group | None:
        """The group, its row locked until the transaction ends (None when there is none).

        Every change of a group's members takes it first, so two changes of one group run
        one after the other and the second sees what the first did: an admin and the heir
        leaving at once still leave an admin, an add cannot meet a concurrent add.
        """

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
    ) -> None:
        """Raises AlreadyMemberError, or ConcurrentUpdateError when the group or the user is
        gone: the database's constraints catch what a race let through."""

    @abstractmethod
    def remove_member(self, group_id: uuid.UUID, user_id: uuid.UUID) -> None: ...

    @abstractmethod
    def set_role(self, group_id: uuid.UUID, user_id: uuid.UUID, role: Role) -> None: ...

    @abstractmethod
    def remove_users(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Remove every membership of these users; the ids of the groups they were in.

        Those groups are locked first (as :meth:`lock`), in id order, so the succession
        that follows sees every concurrent change and two removals cannot deadlock.
        """


@dataclass(frozen=True, slots=True)
class Repositories:
    """The repositories on a transaction someone else commits (the consumer loop's)."""

    users: UserView
    groups: Groups


class ViewUpserts(ABC, Generic[Tx]):
    """A batch of registrations and updates as ONE statement, with each event's verdict.

    One statement instead of the repositories' two (read the rows, write the changed
    ones): at a steady trickle every poll is a batch of one or two events, and round trips
    are most of the time an event waits in the consumer. An adapter that can do it in one
    statement (PostgreSQL) implements this; the handler folds the batch through the
    repositories otherwise, and for any batch that deletes a user.
    """

    @abstractmethod
    def upsert(self, states: Sequence[UserState], tx: Tx) -> list[Verdict]:
        """Write each user's newest state unless the view holds that version or a newer
        one, or the user is deleted; the verdict of each of ``states``, in order, as
        :func:`~playball_groups.domain.user_view.fold` gives it from the rows before.
        """


class LockConflictError(Exception):
    """The database failed this transaction to break a deadlock with another: a race
    lost, worth a retry."""


class DatabaseBusyError(Exception):
    """No database connection came free in time (every one of the pool's is in use):
    load, not a fault of the request or of the database, so worth a retry shortly."""


class UnitOfWork(service_kit.UnitOfWork):
    """One transaction; leaving the block without :meth:`commit` rolls it back.

    Entering raises :class:`DatabaseBusyError` when no connection comes free in time.
    """

    users: UserView
    groups: Groups
