"""The outbox on SQLite: one relay at a time.

SQLite has no row locks, so a second relay must not claim at all: every claim renews a
lease row in a small side table (``<outbox>_relay_lease``, created on first use), and a
relay that finds another's lease gets :class:`RelayLeaseHeldError` and waits. Within the
one relay, a claim keeps the same per-user prefix rule as on PostgreSQL.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    Row,
    String,
    Table,
    Text,
    and_,
    cast,
    create_engine,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from playball_events.outbox.model import headers_of
from playball_events.outbox.ports import OutboxEvent, RelayLeaseHeldError
from playball_events.outbox.store_sql import (
    PARKED,
    PENDING,
    SENT,
    SqlOutboxStore,
    in_delivery_order,
    utcnow,
)
from playball_events.outbox.table_sql import OUTBOX_TABLE
from playball_events.utc_sql import as_utc

SINGLE_RELAY_LEASE = "relay"


def sqlite_outbox_engine(url: str) -> Engine:
    # A writer holds SQLite's one write lock for its whole transaction: wait for it.
    # hide_parameters: a failed statement's message would quote payloads (personal data).
    return create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)


class SqliteOutboxStore(SqlOutboxStore):
    def __init__(
        self,
        engine: Engine,
        *,
        table_name: str = OUTBOX_TABLE,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(engine, table_name=table_name, now=now)
        self._lease_table = Table(
            f"{table_name}_relay_lease",
            MetaData(),
            Column("name", String(32), primary_key=True),
            Column("holder", String(128), nullable=False),
            Column("until", DateTime(timezone=True), nullable=False),
        )
        self._lease_ready = False

    def claim_batch(self, relay_id: str, limit: int, lease: timedelta) -> list[OutboxEvent]:
        now = self._now()
        with self._begin() as conn:
            self._hold_single_relay_lease(conn, relay_id, now, lease)
            candidates = conn.execute(self._candidates(now, limit)).all()
            kept = self._prefixes(candidates)
            if not kept:
                return []
            conn.execute(
                update(self.table)
                .where(self._seq_in([row.seq for row in kept]))
                .values(claimed_by=relay_id, claimed_until=now + lease)
            )
        return in_delivery_order([self._event(row) for row in kept])

    def _candidates(self, now: datetime, limit: int) -> Any:
        o, p = self.table, self.table.alias("earlier")
        # The states written out, not bound: SQLite only uses the partial index of unsent
        # rows when the query's terms visibly imply its WHERE.
        unsent = and_(
            p.c.state.in_([literal_column(f"'{PENDING}'"), literal_column(f"'{PARKED}'")]),
            # a parked row whose payload was erased (its user deleted) is never sent: it
            # holds nothing back
            or_(p.c.state == PENDING, p.c.payload.is_not(None)),
        )
        # A scalar count rather than NOT EXISTS: the planner turns NOT EXISTS into an anti
        # join over a materialized list of blocking rows (thousands while a batch is in
        # flight), scanned once per candidate; the count stays an index probe per row.
        blocking_earlier = (
            select(func.count())
            .where(
                p.c.aggregate_id == o.c.aggregate_id,
                p.c.aggregate_version < o.c.aggregate_version,
                unsent,
                or_(p.c.state == PARKED, p.c.claimed_until >= now, p.c.next_attempt_at > now),
            )
            .correlate(o)
            .scalar_subquery()
        )
        # How many unsent versions of the user come before this one, whoever holds them.
        earlier_unsent = (
            select(func.count())
            .where(
                p.c.aggregate_id == o.c.aggregate_id,
                p.c.aggregate_version < o.c.aggregate_version,
                unsent,
            )
            .correlate(o)
            .scalar_subquery()
            .label("earlier_unsent")
        )
        columns = [c for c in o.c if c.name != "headers"]
        return (
            select(*columns, cast(o.c.headers, Text).label("headers_text"), earlier_unsent)
            .where(
                o.c.state == PENDING,
                or_(o.c.claimed_until.is_(None), o.c.claimed_until < now),
                or_(o.c.next_attempt_at.is_(None), o.c.next_attempt_at <= now),
                # not strictly needed (the prefix rule below drops such rows), but it keeps
                # rows that cannot go now from filling the batch
                blocking_earlier == 0,
            )
            # oldest first, through the partial index of unsent rows: the scan stops after
            # `limit` rows and never walks the sent rows kept for the retention
            .order_by(o.c.seq)
            .limit(limit)
        )

    @staticmethod
    def _prefixes(candidates: Sequence[Row[Any]]) -> list[Row[Any]]:
        """The candidates that come with every earlier unsent version of their user.

        Sorted by version, a user's k-th candidate (from 0) is kept only if exactly k
        unsent versions precede it, i.e. all of them are candidates of this very claim.
        """
        by_user: dict[str, list[Row[Any]]] = defaultdict(list)
        for row in candidates:
            by_user[row.aggregate_id].append(row)
        kept: list[Row[Any]] = []
        for rows in by_user.values():
            rows.sort(key=lambda row: row.aggregate_version)
            for position, row in enumerate(rows):
                if row.earlier_unsent != position:
                    break  # an earlier one is someone else's, or blocked: stop here
                kept.append(row)
        return kept

    @staticmethod
    def _event(row: Row[Any]) -> OutboxEvent:
        m = row._mapping
        return OutboxEvent(
            seq=m["seq"],
            event_id=m["event_id"],
            aggregate_id=m["aggregate_id"],
            aggregate_version=m["aggregate_version"],
            record_type=m["record_type"],
            topic=m["topic"],
            subject=m["subject"],
            payload=bytes(m["payload"]),
            schema_fingerprint=m["schema_fingerprint"],
            headers=headers_of(m["headers_text"]),
            created_at=as_utc(m["created_at"]),
            attempts=m["attempts"],
        )

    def _hold_single_relay_lease(
        self, conn: Connection, relay_id: str, now: datetime, lease: timedelta
    ) -> None:
        table = self._lease_table
        if not self._lease_ready:
            table.create(conn, checkfirst=True)
            self._lease_ready = True
        taken = conn.execute(
            update(table)
            .where(
                table.c.name == SINGLE_RELAY_LEASE,
                or_(table.c.holder == relay_id, table.c.until < now),
            )
            .values(holder=relay_id, until=now + lease)
        ).rowcount
        if taken:
            return
        holder = conn.execute(
            select(table.c.holder, table.c.until).where(table.c.name == SINGLE_RELAY_LEASE)
        ).first()
        if holder is None:
            conn.execute(
                insert(table).values(name=SINGLE_RELAY_LEASE, holder=relay_id, until=now + lease)
            )
            return
        msg = (
            f"relay {holder.holder} holds the SQLite outbox until {as_utc(holder.until):%X} UTC "
            "(SQLite runs one relay at a time)"
        )
        raise RelayLeaseHeldError(msg)

    def mark_sent(self, events: Sequence[OutboxEvent]) -> None:
        if not events:
            return
        # See OutboxStore.mark_sent: acknowledged by the broker, so sent, whoever holds it.
        o = self.table
        with self._begin() as conn:
            conn.execute(
                update(o)
                .where(self._seq_in([e.seq for e in events]), o.c.state.in_([PENDING, PARKED]))
                .values(state=SENT, sent_at=self._now(), claimed_by=None, claimed_until=None)
            )

    def _seq_in(self, seqs: Sequence[int]) -> ColumnElement[bool]:
        return self.table.c.seq.in_(list(seqs))

    def _end_claims(self, conn: Connection, relay_id: str) -> None:
        """Give up the single-relay lease, so another relay may start at once."""
        if not self._lease_ready:
            return
        lease = self._lease_table
        conn.execute(
            delete(lease).where(lease.c.name == SINGLE_RELAY_LEASE, lease.c.holder == relay_id)
        )
