"""The outbox table through SQLAlchemy Core: claims, acks, parking, cleanup, status.

Claiming on PostgreSQL (several relays at once), one statement (``_CLAIM_POSTGRES``):

1. Lock (``FOR UPDATE SKIP LOCKED``) the oldest pending rows whose lease is free and
   whose backoff has passed, leaving out rows behind a *blocking* earlier row of the same
   user (parked, leased by a relay, or waiting out a backoff). Each candidate comes with
   the number of unsent versions of its user before it.
2. The blocking test cannot see rows another relay has locked in a claim that has not
   committed yet, so only each user's *prefix* is kept: a user's k-th candidate goes only
   if exactly k unsent versions precede it, i.e. every earlier one is in this claim. A
   row skipped because another relay is locking it breaks the prefix, so the user's
   later versions stay behind too.
3. Lease the kept rows (this relay's id, an expiry) and return them.

Rows are never read by "seq greater than the last seen": seqs are taken before commit.

SQLite has no row locks: one relay at a time, enforced by a lease row in a small side
table that every claim renews; a second relay gets :class:`RelayLeaseHeldError`.

Times are the relay's UTC clock, passed as parameters, so both dialects compare alike.
"""

import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
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
    any_,
    bindparam,
    cast,
    create_engine,
    delete,
    func,
    insert,
    literal_column,
    make_url,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.sql.elements import ColumnElement

from playball_events.outbox.model import NewOutboxEvent, OutboxState
from playball_events.outbox.ports import (
    OutboxEvent,
    OutboxStatus,
    OutboxStore,
    ParkedEvent,
    RelayLeaseHeldError,
    Retry,
    StoreUnavailableError,
)
from playball_events.outbox.table_sql import OUTBOX_TABLE, define_outbox_table
from playball_events.outbox.writer_sql import write_outbox_events
from playball_events.postgres_network import network_connect_args

PENDING, SENT, PARKED = OutboxState.PENDING.value, OutboxState.SENT.value, OutboxState.PARKED.value
SINGLE_RELAY_LEASE = "relay"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    # SQLite hands datetimes back naive; they were written as UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def create_outbox_engine(url: str, *, for_relay: bool = False) -> Engine:
    """An engine on the outbox; ``for_relay`` tunes it for the relay's many short writes.

    The relay's engine skips two costs on every transaction's path:

    - the pool's liveness ping (a round trip): a connection the database dropped fails its
      first statement instead, which the store reports as unavailable, and the relay
      retries after a backoff on a fresh connection;
    - waiting for the WAL flush at commit (``synchronous_commit=off``): everything the relay
      writes can be lost in a database crash without loss of an event. A lost lease is an
      early-expired one, a lost "sent" mark a resend, a lost park a second parking: at
      worst duplicates, which consumers drop. The service's own writes, outbox rows
      included, keep the server's durable commits.
    """
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"timeout": 30})
    # JIT off: the claim's cost estimate is high enough to trigger JIT compilation, which
    # takes ~250 ms per claim for a query that runs in ~50 ms.
    options = "-c jit=off" + (" -c synchronous_commit=off" if for_relay else "")
    network = network_connect_args(make_url(url).query)
    return create_engine(
        url,
        pool_pre_ping=not for_relay,
        pool_size=2,
        max_overflow=2,
        connect_args={**network, "options": options},
    )


# The Postgres claim, one statement:
# - `candidates`: pending rows whose lease is free and backoff over, oldest first through
#   the partial index, locked with SKIP LOCKED. One LATERAL probe of the user's earlier
#   unsent rows gives both counts: how many there are (`earlier_unsent`) and how many of
#   them block right now (parked, leased, or backing off; a candidate behind one of those
#   is left out so it does not fill the batch).
# - `ranked`: the prefix rule. Sorted by version, a user's candidate at position k is kept
#   only if every candidate of that user up to it has exactly as many earlier unsent
#   versions as its position, i.e. all of them are in this claim. A row another relay
#   locks or holds breaks the prefix, so the user's later rows stay behind.
# - the UPDATE leases the kept rows and returns what the relay needs. It finds them by
#   an array of seqs, i.e. through the primary key: joining `ranked` instead lets the
#   planner hash-join a scan of the whole table, sent rows kept for the retention included.
# A scalar count per candidate rather than NOT EXISTS: the planner turns NOT EXISTS into
# an anti join over a materialized list of blocking rows, scanned once per candidate.
_CLAIM_POSTGRES = """
WITH candidates AS (
    SELECT o.seq, o.aggregate_id, o.aggregate_version, e.earlier_unsent
    FROM {table} o
    CROSS JOIN LATERAL (
        SELECT count(*) AS earlier_unsent,
               count(*) FILTER (
                   WHERE p.state = 'parked'
                      OR p.claimed_until >= %(now)s
                      OR p.next_attempt_at > %(now)s
               ) AS blocking
        FROM {table} p
        WHERE p.aggregate_id = o.aggregate_id
          AND p.aggregate_version < o.aggregate_version
          AND p.state IN ('pending', 'parked')
    ) e
    WHERE o.state = 'pending'
      AND (o.claimed_until IS NULL OR o.claimed_until < %(now)s)
      AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= %(now)s)
      AND e.blocking = 0
    ORDER BY o.seq
    LIMIT %(limit)s
    FOR UPDATE OF o SKIP LOCKED
),
ranked AS (
    SELECT seq,
           bool_and(earlier_unsent = position) OVER (
               PARTITION BY aggregate_id ORDER BY aggregate_version, seq
               ROWS UNBOUNDED PRECEDING
           ) AS in_prefix
    FROM (
        SELECT c.*,
               row_number() OVER (
                   PARTITION BY aggregate_id ORDER BY aggregate_version, seq
               ) - 1 AS position
        FROM candidates c
    ) numbered
)
UPDATE {table} o
SET claimed_by = %(relay)s, claimed_until = %(until)s
WHERE o.seq = ANY(ARRAY(SELECT seq FROM ranked WHERE in_prefix))
RETURNING o.seq, o.event_id, o.aggregate_id, o.aggregate_version, o.record_type, o.topic,
          o.subject, o.payload, o.schema_fingerprint, o.headers::text, o.created_at,
          o.attempts
"""

# Marking a batch sent, as the relay's other hot statement (see SqlOutboxStore._raw).
_MARK_SENT_POSTGRES = """
UPDATE {table}
SET state = 'sent', sent_at = %(now)s, claimed_by = NULL, claimed_until = NULL
WHERE seq = ANY(%(seqs)s) AND state = 'pending'
"""


def _headers_of(text_headers: str | None) -> dict[str, str]:
    # headers as text: most rows carry "{}", and decoding JSON for each costs more than
    # the rest of the row
    if text_headers in (None, "{}", "null"):
        return {}
    return {str(k): str(v) for k, v in (json.loads(text_headers) or {}).items()}


def _event_of(row: Sequence[Any]) -> OutboxEvent:
    """An event from a claim row (the columns of ``_CLAIM_POSTGRES``'s RETURNING)."""
    (seq, event_id, aggregate_id, version, record_type, topic, subject, payload,
     fingerprint, headers, created_at, attempts) = row  # fmt: skip
    return OutboxEvent(
        seq=seq,
        event_id=event_id,
        aggregate_id=aggregate_id,
        aggregate_version=version,
        record_type=record_type,
        topic=topic,
        subject=subject,
        payload=bytes(payload),
        schema_fingerprint=fingerprint,
        headers=_headers_of(headers),
        created_at=_aware(created_at),
        attempts=attempts,
    )


class SqlOutboxStore(OutboxStore):
    def __init__(
        self,
        engine: Engine,
        *,
        table_name: str = OUTBOX_TABLE,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.engine = engine
        self.metadata = MetaData()
        self.table = define_outbox_table(self.metadata, table_name)
        self._postgres = engine.dialect.name == "postgresql"
        self._one_statement_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._now = now
        # SQLite's single-relay lease lives beside the outbox, created on first use.
        self._lease_table = Table(
            f"{table_name}_relay_lease",
            MetaData(),
            Column("name", String(32), primary_key=True),
            Column("holder", String(128), nullable=False),
            Column("until", DateTime(timezone=True), nullable=False),
        )
        self._lease_ready = False
        quoted = engine.dialect.identifier_preparer.quote(self.table.name)
        self._claim_sql = _CLAIM_POSTGRES.format(table=quoted)
        self._mark_sent_sql = _MARK_SENT_POSTGRES.format(table=quoted)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> "SqlOutboxStore":
        return cls(create_outbox_engine(url), **kwargs)

    @classmethod
    def for_relay(cls, url: str, **kwargs: Any) -> "SqlOutboxStore":
        """The store a relay runs on (see :func:`create_outbox_engine`)."""
        return cls(create_outbox_engine(url, for_relay=True), **kwargs)

    def create_table(self) -> None:
        """Create the outbox table (tests and benchmarks; services use their migrations)."""
        with self._begin() as conn:
            self.metadata.create_all(conn)

    @contextmanager
    def _begin(self, *, one_statement: bool = False) -> Iterator[Connection]:
        """A transaction; ``one_statement`` for work that is a single statement.

        On PostgreSQL one statement runs in autocommit mode: it is its own transaction
        anyway, and the driver then sends neither a ``BEGIN`` nor a ``COMMIT``, two round
        trips of the three that the relay's claim and mark-sent would otherwise take.
        """
        autocommit = one_statement and self._postgres
        try:
            with (
                self._one_statement_engine.connect() if autocommit else self.engine.begin()
            ) as conn:
                yield conn
        except (OperationalError, InterfaceError) as exc:
            raise StoreUnavailableError(str(exc).splitlines()[0]) from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailableError(str(exc).splitlines()[0]) from exc
            raise

    def _seq_in(self, seqs: Sequence[int]) -> ColumnElement[bool]:
        seq = self.table.c.seq
        if self._postgres:  # one array parameter instead of thousands of placeholders
            return seq == any_(bindparam("seqs", list(seqs), type_=ARRAY(BigInteger())))
        return seq.in_(list(seqs))

    # -- claiming -------------------------------------------------------------------------

    def claim_batch(self, relay_id: str, limit: int, lease: timedelta) -> list[OutboxEvent]:
        now = self._now()
        if self._postgres:
            return self._claim_postgres(relay_id, limit, now, now + lease)
        with self._begin() as conn:
            self._hold_single_relay_lease(conn, relay_id, now, lease)
            candidates = conn.execute(self._candidates(now, limit)).all()
            kept = self._prefixes(candidates)
            if not kept:
                return []
            o = self.table
            conn.execute(
                update(o)
                .where(self._seq_in([row.seq for row in kept]))
                .values(claimed_by=relay_id, claimed_until=now + lease)
            )
        return self._in_delivery_order([self._event(row) for row in kept])

    def _claim_postgres(
        self, relay_id: str, limit: int, now: datetime, until: datetime
    ) -> list[OutboxEvent]:
        """Select, lock, keep the prefixes and lease them in one statement (one round trip).

        Read straight from the driver's cursor: plain tuples of the needed columns, no
        SQLAlchemy row objects.
        """
        params = {"now": now, "limit": limit, "relay": relay_id, "until": until}
        rows = self._raw(self._claim_sql, params)
        return self._in_delivery_order([_event_of(row) for row in rows])

    def _raw(self, sql: str, params: dict[str, Any]) -> Sequence[Any]:
        """One autocommit statement on the driver's own cursor (PostgreSQL).

        For the relay's two statements per batch, claim and mark-sent: SQLAlchemy's
        statement building, cache-key generation and row objects cost more CPU than the
        database's work on them.
        """
        dbapi = self.engine.dialect.loaded_dbapi
        with self._begin(one_statement=True) as conn:
            cursor = conn.connection.cursor()
            try:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description is not None else []
            except (dbapi.OperationalError, dbapi.InterfaceError) as exc:
                # The driver's cursor is past SQLAlchemy's error wrapping, so translate as
                # _begin does: a statement cancelled by a statement_timeout, or cut off
                # with its connection, is an outage to back off from, not the relay's end.
                raise StoreUnavailableError(str(exc).splitlines()[0]) from exc
            finally:
                cursor.close()

    def _candidates(self, now: datetime, limit: int) -> Any:
        """SQLite's claim query (one relay at a time, so no row locks)."""
        o, p = self.table, self.table.alias("earlier")
        # The states written out, not bound: SQLite only uses the partial index of unsent
        # rows when the query's terms visibly imply its WHERE.
        unsent = p.c.state.in_([literal_column(f"'{PENDING}'"), literal_column(f"'{PARKED}'")])
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
        # headers as text: most rows carry "{}", and decoding JSON for each costs more
        # than the rest of the row
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
    def _in_delivery_order(events: list[OutboxEvent]) -> list[OutboxEvent]:
        # Each user's events in version order; users in the order their first event came.
        first_seq: dict[str, int] = {}
        for event in events:
            first_seq[event.aggregate_id] = min(
                event.seq, first_seq.get(event.aggregate_id, event.seq)
            )
        return sorted(events, key=lambda e: (first_seq[e.aggregate_id], e.aggregate_version))

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
            f"relay {holder.holder} holds the SQLite outbox until {_aware(holder.until):%X} UTC "
            "(SQLite runs one relay at a time)"
        )
        raise RelayLeaseHeldError(msg)

    def _event(self, row: Row[Any]) -> OutboxEvent:
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
            headers=_headers_of(m["headers_text"]),
            created_at=_aware(m["created_at"]),
            attempts=m["attempts"],
        )

    # -- settling -------------------------------------------------------------------------

    def mark_sent(self, events: Sequence[OutboxEvent]) -> None:
        if not events:
            return
        # Whoever holds the lease now: the broker has the message, so it is sent.
        if self._postgres:
            self._raw(self._mark_sent_sql, {"now": self._now(), "seqs": [e.seq for e in events]})
            return
        o = self.table
        with self._begin(one_statement=True) as conn:
            conn.execute(
                update(o)
                .where(self._seq_in([e.seq for e in events]), o.c.state == PENDING)
                .values(state=SENT, sent_at=self._now(), claimed_by=None, claimed_until=None)
            )

    def park(self, relay_id: str, event: OutboxEvent, reason: str) -> None:
        o = self.table
        with self._begin() as conn:
            conn.execute(
                update(o)
                .where(o.c.seq == event.seq, o.c.state == PENDING, o.c.claimed_by == relay_id)
                .values(
                    state=PARKED,
                    last_error=reason,
                    attempts=o.c.attempts + 1,
                    claimed_by=None,
                    claimed_until=None,
                )
            )

    def reschedule(self, relay_id: str, retries: Sequence[Retry]) -> None:
        if not retries:
            return
        o = self.table
        statement = (
            update(o)
            .where(
                o.c.seq == bindparam("b_seq"),
                o.c.state == PENDING,
                o.c.claimed_by == relay_id,
            )
            .values(
                attempts=o.c.attempts + 1,
                last_error=bindparam("b_reason"),
                next_attempt_at=bindparam("b_not_before"),
                claimed_by=None,
                claimed_until=None,
            )
        )
        params = [
            {"b_seq": r.event.seq, "b_reason": r.reason[:2000], "b_not_before": r.not_before}
            for r in retries
        ]
        with self._begin() as conn:
            conn.execute(statement, params)

    def release(self, relay_id: str, events: Sequence[OutboxEvent] | None = None) -> None:
        o = self.table
        condition = and_(o.c.claimed_by == relay_id, o.c.state == PENDING)
        if events is not None:
            if not events:
                return
            condition = and_(condition, self._seq_in([e.seq for e in events]))
        with self._begin() as conn:
            conn.execute(update(o).where(condition).values(claimed_by=None, claimed_until=None))
            if events is None and not self._postgres and self._lease_ready:
                lease = self._lease_table
                conn.execute(
                    delete(lease).where(
                        lease.c.name == SINGLE_RELAY_LEASE, lease.c.holder == relay_id
                    )
                )

    # -- operations -----------------------------------------------------------------------

    def retry(self, event_id: uuid.UUID) -> bool:
        o = self.table
        with self._begin() as conn:
            result = conn.execute(
                update(o)
                .where(o.c.event_id == event_id, o.c.state == PARKED)
                .values(state=PENDING, attempts=0, next_attempt_at=None, last_error=None)
            )
            return bool(result.rowcount)

    def cleanup(self, older_than: timedelta, batch_size: int, max_batches: int) -> int:
        o = self.table
        cutoff = self._now() - older_than
        removed = 0
        for _ in range(max_batches):
            # Small batches, each its own transaction: a large DELETE holds locks for long.
            doomed = (
                select(o.c.seq)
                .where(o.c.state == SENT, o.c.sent_at < cutoff)
                .order_by(o.c.seq)
                .limit(batch_size)
                .scalar_subquery()
            )
            with self._begin() as conn:
                count = conn.execute(
                    delete(o).where(o.c.seq.in_(doomed), o.c.state == SENT)
                ).rowcount
            removed += count
            if count < batch_size:
                break
        return removed

    def status(self, parked_limit: int = 100) -> OutboxStatus:
        o = self.table
        now = self._now()
        with self._begin() as conn:
            counts: dict[str, int] = dict(
                conn.execute(select(o.c.state, func.count()).group_by(o.c.state)).all()
            )
            oldest = conn.execute(
                select(func.min(o.c.created_at)).where(o.c.state == PENDING)
            ).scalar()
            parked_rows = (
                conn.execute(
                    select(o).where(o.c.state == PARKED).order_by(o.c.seq).limit(parked_limit)
                ).all()
                if parked_limit > 0
                else []
            )
        if isinstance(oldest, str):  # SQLite's MIN() of a DATETIME column is text
            oldest = datetime.fromisoformat(oldest)
        parked = tuple(
            ParkedEvent(
                event_id=row.event_id,
                aggregate_id=row.aggregate_id,
                aggregate_version=row.aggregate_version,
                record_type=row.record_type,
                attempts=row.attempts,
                reason=row.last_error or "",
                created_at=_aware(row.created_at),
            )
            for row in parked_rows
        )
        return OutboxStatus(
            backlog=int(counts.get(PENDING, 0)),
            oldest_unsent_age=max(now - _aware(oldest), timedelta(0)) if oldest else None,
            parked=parked,
            parked_count=int(counts.get(PARKED, 0)),
            sent=int(counts.get(SENT, 0)),
        )

    def insert_events(self, events: Sequence[NewOutboxEvent]) -> None:
        """Rows as the service writer writes them, in one transaction (its commit wakes the
        relay on PostgreSQL, through the table's trigger)."""
        with self._begin() as conn:
            # no trace headers: not written from a request
            write_outbox_events(conn, self.table, events, headers=dict)
