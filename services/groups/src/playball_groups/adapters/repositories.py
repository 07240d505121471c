"""SQL repositories over one connection (SQLAlchemy Core; PostgreSQL and SQLite)."""

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from playball_groups.adapters.tables import groups, known_users, memberships, processed_events
from playball_groups.domain.model import Group, KnownUser, Member, Role
from playball_groups.service_layer.unit_of_work import (
    Groups,
    ProcessedEvent,
    ProcessedEvents,
    UserView,
)

# SQLite's expression depth limits IN lists; Postgres is happy with far more
IN_CHUNK = 500


def aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes for what we stored as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlUserView(UserView):
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get_many(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, KnownUser]:
        wanted = list(user_ids)
        found: dict[uuid.UUID, KnownUser] = {}
        for part in chunks(wanted):
            rows = self._c.execute(
                select(
                    known_users.c.user_id,
                    known_users.c.user_version,
                    known_users.c.deleted,
                    known_users.c.username,
                    known_users.c.display_name,
                ).where(known_users.c.user_id.in_(part))
            )
            for row in rows:
                found[row.user_id] = KnownUser(
                    row.user_id, row.user_version, row.deleted, row.username, row.display_name
                )
        return found

    def save(self, users: Sequence[KnownUser]) -> None:
        now = dt.datetime.now(dt.UTC)
        rows = [
            {
                "user_id": u.user_id,
                "user_version": u.user_version,
                "deleted": u.deleted,
                "username": u.username,
                "display_name": u.display_name,
                "updated_at": now,
            }
            for u in users
        ]
        dialect = postgresql if self._c.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(known_users)
        new = statement.excluded
        # The fold decided already; the guard keeps a concurrent consumer (mid-rebalance)
        # from writing an older state over a newer one.
        guarded = statement.on_conflict_do_update(
            index_elements=[known_users.c.user_id],
            set_={
                "user_version": new.user_version,
                "deleted": new.deleted,
                "username": new.username,
                "display_name": new.display_name,
                "updated_at": new.updated_at,
            },
            where=or_(
                and_(
                    known_users.c.deleted.is_(False),
                    known_users.c.user_version < new.user_version,
                ),
                and_(new.deleted.is_(True), known_users.c.deleted.is_(False)),
            ),
        )
        self._c.execute(guarded, rows)


class SqlProcessedEvents(ProcessedEvents):
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def already(self, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        found: set[uuid.UUID] = set()
        for part in chunks(list(event_ids)):
            found.update(
                self._c.scalars(
                    select(processed_events.c.event_id).where(processed_events.c.event_id.in_(part))
                )
            )
        return found

    def record(self, events: Sequence[ProcessedEvent]) -> None:
        if not events:
            return
        self._c.execute(
            insert(processed_events),
            [
                {
                    "event_id": e.event_id,
                    "topic": e.topic,
                    "partition": e.partition,
                    "offset": e.offset,
                    "processed_at": e.processed_at,
                }
                for e in events
            ],
        )


def _group(row: Any) -> Group:
    return Group(row.id, row.name, row.version, aware(row.created_at))


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
            Member(row.user_id, Role(row.role), aware(row.joined_at), row.display_name)
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
