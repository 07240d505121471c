"""The user view in SQL (SQLAlchemy Core; PostgreSQL and SQLite), and PostgreSQL's
one-statement batch for the consumer.

Every write to ``known_users`` goes through :func:`_guarded`: the version guard
(:func:`replaces`, one expression) is the ON CONFLICT condition on both databases, and
the one-statement batch also tells each event's verdict with it. Whoever decided (the
domain's fold, or that statement, from the rows before it), the guard keeps a concurrent
consumer (mid-rebalance) from writing an older state over a newer one.

PostgreSQL takes a batch's rows in one JSON parameter (``json_to_recordset``) or one
array literal instead of a bind parameter per value: psycopg's per-element adaptation,
and SQLAlchemy's per-row ``executemany``, each cost more than the SQL itself.
"""

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from playball_events.driver_sql import DriverStatement
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Select,
    Text,
    Uuid,
    and_,
    bindparam,
    cast,
    column,
    false,
    func,
    not_,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.selectable import TableValuedAlias

from playball_groups.adapters.in_lists import chunks
from playball_groups.adapters.tables import known_users
from playball_groups.domain.model import KnownUser
from playball_groups.domain.user_view import UserState, Verdict
from playball_groups.service_layer.unit_of_work import LockConflictError, UserView, ViewUpserts

Insert = TypeVar("Insert", postgresql.Insert, sqlite.Insert)
Columns = ReadOnlyColumnCollection[str, Any]  # a table's, a subquery's, or ``excluded``

PG_GET_USERS = text(
    "SELECT user_id, user_version, deleted, username, display_name FROM known_users"
    " WHERE user_id = ANY(CAST(:ids AS uuid[]))"
)
PG_LOCK_USER = text(
    "SELECT user_id, user_version, deleted, username, display_name FROM known_users"
    " WHERE user_id = :id FOR SHARE"
)
_DEADLOCK = "40P01"  # PostgreSQL's SQLSTATE


def replaces(stored: Columns, incoming: Columns) -> ColumnElement[bool]:
    """The version guard: whether the ``incoming`` state may overwrite the ``stored`` row
    (both column collections): never an older state over a newer one, and nothing over
    a tombstone (a deletion is final)."""
    return or_(
        and_(not_(stored.deleted), stored.user_version < incoming.user_version),
        and_(incoming.deleted, not_(stored.deleted)),
    )


def _guarded(statement: Insert) -> Insert:
    """An insert into ``known_users`` that updates a user's row only where the guard allows."""
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[known_users.c.user_id],
        set_={
            "user_version": new.user_version,
            "deleted": new.deleted,
            "username": new.username,
            "display_name": new.display_name,
            "updated_at": new.updated_at,
        },
        where=replaces(known_users.c, new),
    )


def _json_rows(*columns: ColumnClause[Any]) -> TableValuedAlias:
    """``json_to_recordset(CAST(:rows AS json)) AS r(<columns with their types>)``."""
    return (
        func.json_to_recordset(cast(bindparam("rows", type_=Text()), JSON))
        .table_valued(*columns)
        .render_derived(name="r", with_types=True)
    )


_VIEW_COLUMNS = ("user_id", "user_version", "deleted", "username", "display_name", "updated_at")


def _pg_save() -> postgresql.Insert:
    r = _json_rows(
        column("i", Uuid()),
        column("v", BigInteger()),
        column("d", Boolean()),
        column("u", Text()),
        column("n", Text()),
    )
    rows = select(r.c.i, r.c.v, r.c.d, r.c.u, r.c.n, bindparam("at"))
    return _guarded(postgresql.insert(known_users).from_select(_VIEW_COLUMNS, rows))


def _pg_upsert() -> Select[int]:
    """A batch of registrations and updates in one statement, answering the positions
    (``k``) of the stale ones.

    Every part of a statement sees the same snapshot, so ``before`` is the view as it was
    before the upsert. An event is applied when the guard lets it replace that row and
    it is newer than every earlier event of its user in the batch (the fold's order).
    DISTINCT ON writes each user once (ON CONFLICT may not touch a row twice): the newest
    version, the first in the batch of equal versions, as the fold takes it.
    """
    r = select(
        _json_rows(
            column("k", Integer()),
            column("i", Uuid()),
            column("v", BigInteger()),
            column("u", Text()),
            column("n", Text()),
        )
    ).cte("events")
    newest = (
        select(r.c.i, r.c.v, false(), r.c.u, r.c.n, bindparam("at"))
        .ext(postgresql.distinct_on(r.c.i))
        .order_by(r.c.i, r.c.v.desc(), r.c.k)
    )
    saved = _guarded(postgresql.insert(known_users).from_select(_VIEW_COLUMNS, newest)).cte("saved")
    earlier = func.max(r.c.v).over(partition_by=r.c.i, order_by=r.c.k, rows=(None, -1))
    incoming = select(
        r.c.k,
        r.c.i,
        r.c.v.label("user_version"),
        false().label("deleted"),
        func.coalesce(earlier, 0).label("earlier"),
    ).subquery("incoming")
    before = known_users.alias("before")
    applied = and_(
        incoming.c.user_version > incoming.c.earlier,
        or_(before.c.user_id.is_(None), replaces(before.c, incoming.c)),
    )
    return (
        select(incoming.c.k)
        .select_from(incoming.outerjoin(before, before.c.user_id == incoming.c.i))
        .where(not_(applied))
        .add_cte(saved)
    )


PG_SAVE_USERS = _pg_save()
PG_UPSERT = _pg_upsert()
# the consumer's statement per batch: on the driver's cursor (playball_events.driver_sql)
_PG_UPSERT_ON_DRIVER = DriverStatement(PG_UPSERT)


def uuid_array(ids: Iterable[uuid.UUID]) -> str:
    """A PostgreSQL array literal of UUIDs (their text never needs quoting).

    The 32-digit hex form (PostgreSQL accepts it) is a third of the cost of ``str()``.
    """
    return "{" + ",".join([u.hex for u in ids]) + "}"


class SqlUserView(UserView):
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get_many(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, KnownUser]:
        wanted = list(user_ids)
        found: dict[uuid.UUID, KnownUser] = {}
        if self._c.dialect.name == "postgresql" and wanted:
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

    def get_locked(self, user_id: uuid.UUID) -> KnownUser | None:
        """``FOR SHARE`` on PostgreSQL: the consumer's change of the row (a tombstone)
        waits for this transaction. SQLite takes no row locks: it has one writer at a
        time, and a transaction that read before another's commit cannot write after it
        (SQLite refuses the write)."""
        if self._c.dialect.name != "postgresql":
            return self.get(user_id)
        try:
            row = self._c.execute(PG_LOCK_USER, {"id": user_id}).one_or_none()
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == _DEADLOCK:
                raise LockConflictError(str(exc.orig)) from exc
            raise
        return None if row is None else KnownUser(*row)

    def save(self, users: Sequence[KnownUser]) -> None:
        now = dt.datetime.now(dt.UTC)
        if self._c.dialect.name == "postgresql":
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
            self._c.execute(PG_SAVE_USERS, {"rows": payload, "at": now})
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
        self._c.execute(_guarded(sqlite.insert(known_users)), rows)


class PgViewUpserts(ViewUpserts[Connection]):
    """:class:`ViewUpserts` as one statement, in the consumer loop's transaction."""

    def upsert(self, states: Sequence[UserState], tx: Connection) -> list[Verdict]:
        if not states:
            return []
        rows = json.dumps(
            [
                {
                    "k": k,
                    "i": s.user_id.hex,
                    "v": s.user_version,
                    "u": s.username,
                    "n": s.display_name,
                }
                for k, s in enumerate(states)
            ]
        )
        at = dt.datetime.now(dt.UTC)
        stale = {k for (k,) in _PG_UPSERT_ON_DRIVER.rows(tx, {"rows": rows, "at": at})}
        if not stale:
            return [Verdict.APPLIED] * len(states)
        return [Verdict.STALE if k in stale else Verdict.APPLIED for k in range(len(states))]


def view_upserts_for(engine: Engine) -> ViewUpserts[Connection] | None:
    """The one-statement batch where the database can do it (PostgreSQL), else None."""
    return PgViewUpserts() if engine.dialect.name == "postgresql" else None
