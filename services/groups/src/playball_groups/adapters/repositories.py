"""SQL repositories over one connection (SQLAlchemy Core; PostgreSQL and SQLite)."""

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from playball_groups.adapters.tables import groups, known_users, memberships, processed_events
from playball_groups.domain.model import Group, KnownUser, Member, Role
from playball_groups.service_layer.unit_of_work import (
    Groups,
    ProcessedEvent,
    ProcessedEvents,
    UserView,
    ViewUpserts,
)

# SQLite's expression depth limits IN lists; Postgres is happy with far more
IN_CHUNK = 500


# PostgreSQL fast path for the consumer's batches: one statement per batch, its rows in
# one JSON parameter (json_to_recordset) or one array literal, instead of a bind
# parameter per value; on this machine that is what takes the apply loop past 10,000
# events/s (psycopg's per-element array adaptation costs more than the SQL itself).
# SQLite takes the portable Core path below.
PG_GET_USERS = text(
    "SELECT user_id, user_version, deleted, username, display_name FROM known_users"
    " WHERE user_id = ANY(CAST(:ids AS uuid[]))"
)
PG_SAVE_USERS = text(
    "INSERT INTO known_users"
    " (user_id, user_version, deleted, username, display_name, updated_at)"
    " SELECT u.i, u.v, u.d, u.u, u.n, :now"
    " FROM json_to_recordset(CAST(:rows AS json)) AS u(i uuid, v bigint, d boolean, u text, n text)"
    " ON CONFLICT (user_id) DO UPDATE SET user_version = excluded.user_version,"
    " deleted = excluded.deleted, username = excluded.username,"
    " display_name = excluded.display_name, updated_at = excluded.updated_at"
    # same guard as the portable path: never an older state over a newer one
    " WHERE (NOT known_users.deleted AND known_users.user_version < excluded.user_version)"
    " OR (excluded.deleted AND NOT known_users.deleted)"
)
PG_ALREADY = text(
    "SELECT event_id FROM processed_events WHERE event_id = ANY(CAST(:ids AS uuid[]))"
)
# Claims a batch and answers only the ids that had a row already (nearly always none), so
# the batch's ids are not sent back and parsed into UUIDs; a repeat inside the batch is
# inserted once (DO NOTHING skips the second) and is in the insert's RETURNING, so not
# reported. The rows come as parallel arrays: one topic per batch, cheap text to build.
PG_CLAIM_DUPLICATES = text(
    "WITH r AS (SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:partitions AS integer[]),"
    " CAST(:offsets AS bigint[])) AS r(e, p, o)),"
    " ins AS ("
    'INSERT INTO processed_events (event_id, topic, partition, "offset", processed_at)'
    " SELECT r.e, :topic, r.p, r.o, :at FROM r"
    " ON CONFLICT (event_id) DO NOTHING RETURNING event_id)"
    " SELECT e FROM r EXCEPT SELECT event_id FROM ins"
)
PG_CLAIM = text(
    'INSERT INTO processed_events (event_id, topic, partition, "offset", processed_at)'
    " SELECT r.e, r.t, r.p, r.o, :at"
    " FROM json_to_recordset(CAST(:rows AS json)) AS r(e uuid, t text, p integer, o bigint)"
    " ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)

# ViewUpserts in one statement. Every part of a statement sees the same snapshot, so the
# final SELECT reads the users' rows as they were before the upsert (what the handler
# folds to tell the verdicts), and the upsert only sees the processed rows claimed here
# through ``ins``. DISTINCT ON keeps one row per user (ON CONFLICT may not touch a row
# twice): the newest version among the freshly claimed events, the first in the batch of
# equal versions, as the fold takes it. The guard is SAVE_USERS'.
PG_CLAIM_AND_UPSERT = text(
    "WITH r AS (SELECT * FROM ROWS FROM (json_to_recordset(CAST(:rows AS json))"
    " AS (e uuid, t text, p integer, o bigint, i uuid, v bigint, u text, n text))"
    " WITH ORDINALITY AS r(e, t, p, o, i, v, u, n, k)),"
    " ins AS ("
    'INSERT INTO processed_events (event_id, topic, partition, "offset", processed_at)'
    " SELECT r.e, r.t, r.p, r.o, :at FROM r"
    " ON CONFLICT (event_id) DO NOTHING RETURNING event_id),"
    " newest AS (SELECT DISTINCT ON (r.i) r.i, r.v, r.u, r.n FROM r"
    " JOIN ins ON ins.event_id = r.e ORDER BY r.i, r.v DESC, r.k),"
    " saved AS (INSERT INTO known_users"
    " (user_id, user_version, deleted, username, display_name, updated_at)"
    " SELECT newest.i, newest.v, false, newest.u, newest.n, :at FROM newest"
    " ON CONFLICT (user_id) DO UPDATE SET user_version = excluded.user_version,"
    " deleted = false, username = excluded.username,"
    " display_name = excluded.display_name, updated_at = excluded.updated_at"
    " WHERE NOT known_users.deleted AND known_users.user_version < excluded.user_version)"
    " SELECT true, e, NULL::bigint, NULL::boolean, NULL, NULL"
    " FROM (SELECT e FROM r EXCEPT SELECT event_id FROM ins) AS seen"
    " UNION ALL SELECT false, user_id, user_version, deleted, username, display_name"
    " FROM known_users WHERE user_id IN (SELECT i FROM r)"
)


def uuid_array(ids: Iterable[uuid.UUID]) -> str:
    """A PostgreSQL array literal of UUIDs (their text never needs quoting).

    The 32-digit hex form (PostgreSQL accepts it) is a third of the cost of ``str()``.
    """
    return "{" + ",".join([u.hex for u in ids]) + "}"


def int_array(values: Iterable[int]) -> str:
    return "{" + ",".join(map(str, values)) + "}"


def is_postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


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
        if is_postgres(self._c) and wanted:
            # unpacked like tuples: a Row's attribute access costs more than the row itself
            result = self._c.execute(PG_GET_USERS, {"ids": uuid_array(wanted)})
            for user_id, version, deleted, username, display_name in result:
                found[user_id] = KnownUser(user_id, version, deleted, username, display_name)
            return found
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
        if is_postgres(self._c):
            payload = json.dumps(
                [
                    {
                        "i": u.user_id.hex,
                        "v": u.user_version,
                        "d": u.deleted,
                        "u": u.username,
                        "n": u.display_name,
                    }
                    for u in users
                ]
            )
            self._c.execute(PG_SAVE_USERS, {"rows": payload, "now": now})
            return
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
        if is_postgres(self._c):
            if event_ids:
                found.update(self._c.scalars(PG_ALREADY, {"ids": uuid_array(event_ids)}))
            return found
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

    def claim(self, events: Sequence[ProcessedEvent]) -> set[uuid.UUID]:
        times = {e.processed_at for e in events}
        if not is_postgres(self._c) or len(times) != 1:
            return super().claim(events)
        rows = json.dumps(
            [{"e": e.event_id.hex, "t": e.topic, "p": e.partition, "o": e.offset} for e in events]
        )
        return set(self._c.scalars(PG_CLAIM, {"rows": rows, "at": times.pop()}))

    def claim_duplicates(self, events: Sequence[ProcessedEvent]) -> set[uuid.UUID]:
        if not events or not is_postgres(self._c):
            return super().claim_duplicates(events)
        first = events[0]
        if any(e.topic != first.topic or e.processed_at != first.processed_at for e in events):
            return super().claim_duplicates(events)
        parameters = {
            "ids": uuid_array([e.event_id for e in events]),
            "partitions": int_array([e.partition for e in events]),
            "offsets": int_array([e.offset for e in events]),
            "topic": first.topic,
            "at": first.processed_at,
        }
        return set(self._c.scalars(PG_CLAIM_DUPLICATES, parameters))


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


class PgViewUpserts(ViewUpserts):
    """:class:`ViewUpserts` as one statement in autocommit: no BEGIN, no COMMIT."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    def claim_and_upsert(
        self, processed: Sequence[ProcessedEvent], states: Sequence[KnownUser]
    ) -> tuple[set[uuid.UUID], dict[uuid.UUID, KnownUser]]:
        if not processed:
            return set(), {}
        rows = json.dumps(
            [
                {
                    "e": p.event_id.hex,
                    "t": p.topic,
                    "p": p.partition,
                    "o": p.offset,
                    "i": u.user_id.hex,
                    "v": u.user_version,
                    "u": u.username,
                    "n": u.display_name,
                }
                for p, u in zip(processed, states, strict=True)
            ]
        )
        # one time for the batch's rows, as the handler stamps them
        parameters = {"rows": rows, "at": processed[0].processed_at}
        seen: set[uuid.UUID] = set()
        before: dict[uuid.UUID, KnownUser] = {}
        with self._engine.connect() as connection:
            result = connection.execute(PG_CLAIM_AND_UPSERT, parameters)
            for is_seen, key, version, deleted, username, display_name in result:
                if is_seen:
                    seen.add(key)
                else:
                    before[key] = KnownUser(key, version, deleted, username, display_name)
        return seen, before


def view_upserts_for(engine: Engine) -> ViewUpserts | None:
    """The one-statement batch where the database can do it (PostgreSQL), else None."""
    return PgViewUpserts(engine) if engine.dialect.name == "postgresql" else None
