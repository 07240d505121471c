"""The groups and their memberships in SQL (SQLAlchemy Core; PostgreSQL and SQLite)."""

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from playball_events.utc_sql import as_utc
from sqlalchemy import Connection, delete, func, insert, select, update

from playball_groups.adapters.in_lists import chunks
from playball_groups.adapters.tables import groups, known_users, memberships
from playball_groups.domain.model import Group, Member, Role
from playball_groups.service_layer.unit_of_work import Groups


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
        self._c.execute(delete(groups).where(groups.c.id == group_id))

    def add_member(
        self, group_id: uuid.UUID, user_id: uuid.UUID, role: Role, joined_at: dt.datetime
    ) -> None:
        self._c.execute(
            insert(memberships).values(
                group_id=group_id, user_id=user_id, role=role.value, joined_at=joined_at
            )
        )

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
        affected: set[uuid.UUID] = set()
        for part in chunks(list(user_ids)):
            affected.update(
                self._c.scalars(
                    delete(memberships)
                    .where(memberships.c.user_id.in_(part))
                    .returning(memberships.c.group_id)
                )
            )
        return affected
