"""In-memory fakes of the groups service's ports (subclassing them), for unit tests."""

import copy
import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Self

from playball_events.consumer.ports import ConsumedEvent, ProcessedEvents
from playball_groups.domain.model import Group, KnownUser, Member, Role
from playball_groups.domain.user_view import UserState, Verdict, fold
from playball_groups.service_layer.tokens import InvalidTokenError, TokenVerifier
from playball_groups.service_layer.unit_of_work import (
    Groups,
    Repositories,
    Tx,
    UnitOfWork,
    UserView,
    ViewUpserts,
)


@dataclass
class Store:
    """What a database would hold; a unit of work edits a copy and commits it back."""

    users: dict[uuid.UUID, KnownUser] = field(default_factory=dict)
    processed: set[uuid.UUID] = field(default_factory=set)
    groups: dict[uuid.UUID, Group] = field(default_factory=dict)
    # (group id, user id) -> (role, joined_at)
    members: dict[tuple[uuid.UUID, uuid.UUID], tuple[Role, dt.datetime]] = field(
        default_factory=dict
    )


class FakeUserView(UserView):
    def __init__(self, store: Store) -> None:
        self.store = store

    def get_many(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, KnownUser]:
        return {u: self.store.users[u] for u in user_ids if u in self.store.users}

    def save(self, users: Sequence[KnownUser]) -> None:
        for user in users:
            self.store.users[user.user_id] = user


class FakeProcessedEvents(ProcessedEvents[Store]):
    """The loop's transaction over the fake database: a working copy, kept on commit."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        working = copy.deepcopy(self.store)
        yield working
        self.store.__dict__.update(working.__dict__)

    def claim(self, events: Sequence[ConsumedEvent[Any]], tx: Store) -> set[uuid.UUID]:
        seen = {e.event_id for e in events} & tx.processed
        tx.processed.update(e.event_id for e in events)
        return seen


def fake_repositories(store: Store) -> Repositories:
    return Repositories(users=FakeUserView(store), groups=FakeGroups(store))


class FakeGroups(Groups):
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, group: Group, admin: uuid.UUID) -> None:
        self.store.groups[group.id] = group
        self.add_member(group.id, admin, Role.ADMIN, group.created_at)

    def get(self, group_id: uuid.UUID) -> Group | None:
        return self.store.groups.get(group_id)

    def lock(self, group_id: uuid.UUID) -> Group | None:
        # a fake unit of work runs alone on its working copy: nothing to wait for
        return self.get(group_id)

    def of_member(self, user_id: uuid.UUID) -> list[Group]:
        ids = {g for g, u in self.store.members if u == user_id}
        return sorted((self.store.groups[g] for g in ids), key=lambda g: (g.created_at, g.id))

    def role_of(self, group_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
        found = self.store.members.get((group_id, user_id))
        return None if found is None else found[0]

    def members(self, group_id: uuid.UUID) -> list[Member]:
        found = [
            Member(u, role, joined, self.store.users[u].display_name or "")
            for (g, u), (role, joined) in self.store.members.items()
            if g == group_id
        ]
        return sorted(found, key=lambda m: (m.joined_at, m.user_id))

    def rename(self, group_id: uuid.UUID, name: str, expected_version: int) -> Group | None:
        group = self.store.groups.get(group_id)
        if group is None or group.version != expected_version:
            return None
        renamed = self.store.groups[group_id] = replace(group, name=name, version=group.version + 1)
        return renamed

    def delete(self, group_id: uuid.UUID) -> None:
        self.store.groups.pop(group_id, None)
        for key in [k for k in self.store.members if k[0] == group_id]:
            del self.store.members[key]

    def add_member(
        self, group_id: uuid.UUID, user_id: uuid.UUID, role: Role, joined_at: dt.datetime
    ) -> None:
        self.store.members[(group_id, user_id)] = (role, joined_at)

    def remove_member(self, group_id: uuid.UUID, user_id: uuid.UUID) -> None:
        self.store.members.pop((group_id, user_id), None)

    def set_role(self, group_id: uuid.UUID, user_id: uuid.UUID, role: Role) -> None:
        _old, joined = self.store.members[(group_id, user_id)]
        self.store.members[(group_id, user_id)] = (role, joined)

    def remove_users(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        gone = set(user_ids)
        keys = [k for k in self.store.members if k[1] in gone]
        for key in keys:
            del self.store.members[key]
        return {g for g, _u in keys}


class FakeUnitOfWork(UnitOfWork):
    def __init__(self, store: Store) -> None:
        self._store = store
        self.commits = 0

    def __enter__(self) -> Self:
        self._working = copy.deepcopy(self._store)
        self.users = FakeUserView(self._working)
        self.groups = FakeGroups(self._working)
        return self

    def commit(self) -> None:
        self._store.__dict__.update(copy.deepcopy(self._working).__dict__)
        self.commits += 1

    def rollback(self) -> None:
        self._working = copy.deepcopy(self._store)


class FoldingViewUpserts(ViewUpserts[Tx], Generic[Tx]):
    """ViewUpserts' contract over any repositories, by the domain's fold: the one-step
    path on the backends without PostgreSQL's statement."""

    def __init__(self, repositories: Callable[[Tx], Repositories]) -> None:
        self.repositories = repositories

    def upsert(self, states: Sequence[UserState], tx: Tx) -> list[Verdict]:
        users = self.repositories(tx).users
        folded = fold(users.get_many({s.user_id for s in states}), states)
        if folded.changed:
            users.save(list(folded.changed.values()))
        return folded.verdicts


class FakeVerifier(TokenVerifier):
    """Tokens are the user id itself; anything else is invalid."""

    def caller(self, token: str) -> uuid.UUID:
        try:
            return uuid.UUID(token)
        except ValueError:
            raise InvalidTokenError("not a user id") from None
