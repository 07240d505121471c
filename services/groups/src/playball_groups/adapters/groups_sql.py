"""The groups and their memberships in SQL (SQLAlchemy Core; PostgreSQL and SQLite).

A group's row is its lock (:meth:`SqlGroups.lock`): PostgreSQL takes it with ``SELECT ...
FOR UPDATE``. SQLite has no row locks, and Python's driver opens the transaction only at
the first write, so there the lock is a write that changes nothing: it takes the
database's write lock, which serializes every writer until the commit.
"""

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from playball_events.utc_sql import as_utc
from sqlalchemy import Connection, Executable, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from playball_groups.adapters.in_lists import chunks
from playball_groups.adapters.tables import groups, known_users, memberships
from playball_groups.domain.model import (
    AlreadyMemberError,
    ConcurrentUpdateError,
    Group,
    Member,
    Role,
)
from playball_groups.service_layer.unit_of_work import Groups

# PostgreSQL's SQLSTATE, SQLite's extended result code (Python 3.11+)
_UNIQUE = {"23505", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}


def _is_unique_violation(exc: IntegrityError) -> bool:
    """A duplicate key, as opposed to a missing reference (a foreign key)."""
    driver_error = exc.orig
    codes = {
        getattr(driver_error, "sqlstate", None),
        getattr(driver_error, "sqlite_errorname", None),
    }
    return bool(codes & _UNIQUE)


def _group(row: Any) -> Group:
    return Group(row.id, row.name, row.version, as_utc(row.created_at))


class SqlGroups(Groups):
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, group: Group, admin: uuid.UUID) -> None:
        self._c.execute(
            insert(groups).values(
                id=group.id, name=group.name, version=group.version, created_at=group.created_at
            )
        )
        self.add_member(group.id, admin, Role.ADMIN, group.created_at)

    def get(self, group_id: uuid.UUID) -> Group | None:
        row = self._c.execute(select(groups).where(groups.c.id == group_id)).first()
        return None if row is None else _group(row)

    def lock(self, group_id: uuid.UUID) -> Group | None:
        rows = self._lock([group_id])
        return _group(rows[0]) if rows else None

    def _lock(self, group_ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
        """Lock these groups' rows, in id order (the order every locker takes them in)."""
        locked: list[Row[Any]] = []
        for part in chunks(sorted(group_ids)):
            if self._c.dialect.name == "sqlite":
                statement: Executable = (
                    update(groups)
                    .where(groups.c.id.in_(part))
                    .values(version=groups.c.version)
                    .returning(*groups.c)
                )
            else:
                statement = (
                    select(groups)
                    .where(groups.c.id.in_(part))
                    .order_by(groups.c.id)
                    .with_for_update()
                )
            locked.extend(self._c.execute(statement))
        return locked

    def of_member(self, user_id: uuid.UUID) -> list[Group]:
        rows = self._c.execute(
            select(groups)
            .join(memberships, memberships.c.group_id == groups.c.id)
            .where(memberships.c.user_id == user_id)
            .order_by(groups.c.created_at, groups.c.id)
        )
        return [_group(row) for row in rows]

    def role_of(self, group_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
        role = self._c.scalar(
            select(memberships.c.role).where(
                memberships.c.group_id == group_id, memberships.c.user_id == user_id
            )
        )
        return None if role is None else Role(role)

    def members(self, group_id: uuid.UUID) -> list[Member]:
        rows = self._c.execute(
            select(
                memberships.c.user_id,
                memberships.c.role,
                memberships.c.joined_at,
                func.coalesce(known_users.c.display_name, "").label("display_name"),
            )
            .join(known_users, known_users.c.user_id == memberships.c.user_id)
            .where(memberships.c.group_id == group_id)
            .order_by(memberships.c.joined_at, memberships.c.user_id)
        )
        return [
            Member(row.user_id, Role(row.role), as_utc(row.joined_at), row.display_name)
            for row in rows
        ]

    def rename(self, group_id: uuid.UUID, name: str, expected_version: int) -> Group | None:
        row = self._c.execute(
            update(groups)
            .where(groups.c.id == group_id, groups.c.version == expected_version)
            .values(name=name, version=groups.c.version + 1)
            .returning(groups.c.id, groups.c.name, groups.c.version, groups.c.created_at)
        ).first()
        return None if row is None else _group(row)

    def delete(self, group_id: uuid.UUID) -> None:
        self._c.execute(delete(memberships).where(memberships.c.group_id == group_id))
        try:
            self._c.execute(delete(groups).where(groups.c.id == group_id))
        except IntegrityError as exc:  # a member added by a writer that skipped the lock
            raise ConcurrentUpdateError(group_id) from exc

    def add_member(
        self, group_id: uuid.UUID, user_id: uuid.UUID, role: Role, joined_at: dt.datetime
    ) -> None:
        try:
            self._c.execute(
                insert(memberships).values(
                    group_id=group_id, user_id=user_id, role=role.value, joined_at=joined_at
                )
            )
        except IntegrityError as exc:
            if _is_unique_violation(exc):
                raise AlreadyMemberError(user_id) from exc
            raise ConcurrentUpdateError(group_id) from exc

    def remove_member(self, group_id: uuid.UUID, user_id: uuid.UUID) -> None:
        self._c.execute(
            delete(memberships).where(
                memberships.c.group_id == group_id, memberships.c.user_id == user_id
            )
        )

    def set_role(self, group_id: uuid.UUID, user_id: uuid.UUID, role: Role) -> None:
        self._c.execute(
            update(memberships)
            .where(memberships.c.group_id == group_id, memberships.c.user_id == user_id)
            .values(role=role.value)
        )

    def remove_users(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        users = list(user_ids)
        member_of: set[uuid.UUID] = set()
        for part in chunks(users):
            member_of.update(
                self._c.scalars(
                    select(memberships.c.group_id).where(memberships.c.user_id.in_(part))
                )
            )
        self._lock(list(member_of))
        affected: set[uuid.UUID] = set()
        for part in chunks(users):
            affected.update(
                self._c.scalars(
                    delete(memberships)
                    .where(memberships.c.user_id.in_(part))
                    .returning(memberships.c.group_id)
                )
            )
        # a group joined between the look-up and the delete: lock it too, before the
        # succession reads its members (out of order, but such a race is rare)
        self._lock(list(affected - member_of))
        return affected
