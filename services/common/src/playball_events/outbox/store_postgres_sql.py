"""The outbox on PostgreSQL: several relays at once, each claim one statement.

Claiming (``_CLAIM``):

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

The claim and the mark-sent, the relay's two statements per batch, run as fixed SQL
strings on the driver's own cursor, in autocommit mode (see :meth:`_execute_hot`).
"""

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Connection, Engine, any_, bindparam, create_engine, make_url
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from playball_events.outbox.ports import CaptureStore, OutboxEvent, StoreUnavailableError
from playball_events.outbox.store_sql import (
    SqlOutboxStore,
    in_delivery_order,
    outages_as_unavailable,
    utcnow,
)
from playball_events.outbox.table_sql import OUTBOX_TABLE
from playball_events.postgres_network import network_connect_args

log = logging.getLogger(__name__)

# how long a row read from the log may stay invisible to the relay's own queries
INVISIBLE_PATIENCE = 5.0


def postgres_outbox_engine(url: str, *, for_relay: bool = False) -> Engine:
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
        # A failed statement's message would quote its parameters: payloads hold personal data.
        hide_parameters=True,
    )


# The claim, one statement:
# - `candidates`: pending rows whose lease is free and backoff over, oldest first through
#   the partial index, locked with SKIP LOCKED. One LATERAL probe of the user's earlier
#   unsent rows gives both counts: how many there are (`earlier_unsent`) and how many of
#   them block right now (parked, leased, or backing off; a candidate behind one of those
#   is left out so it does not fill the batch). A parked row whose payload was erased (its
#   user deleted) is neither: it will never be sent, so it holds nothing back.
# - `ranked`: the prefix rule. Sorted by version, a user's candidate at position k is kept
#   only if every candidate of that user up to it has exactly as many earlier unsent
#   versions as its position, i.e. all of them are in this claim. A row another relay
#   locks or holds breaks the prefix, so the user's later rows stay behind.
# - the UPDATE leases the kept rows and returns what the relay needs. It finds them by
#   an array of seqs, i.e. through the primary key: joining `ranked` instead lets the
#   planner hash-join a scan of the whole table, sent rows kept for the retention included.
# A scalar count per candidate rather than NOT EXISTS: the planner turns NOT EXISTS into
# an anti join over a materialized list of blocking rows, scanned once per candidate.
_CLAIM = """
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
          AND (p.state = 'pending' OR p.payload IS NOT NULL)
    ) e
    WHERE o.state = 'pending'
      AND (o.claimed_until IS NULL OR o.claimed_until < %(now)s)
      AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= %(now)s)
      AND e.blocking = 0{only}
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

# Whoever holds the lease now: the broker has the message, so it is sent.
_MARK_SENT = """
UPDATE {table}
SET state = 'sent', sent_at = %(now)s, claimed_by = NULL, claimed_until = NULL
WHERE seq = ANY(%(seqs)s::bigint[]) AND state IN ('pending', 'parked')
"""


# The log-based relay's check of a batch it read from the log: what became of each row.
# Deliverable: still pending, neither leased nor deferred (next_attempt_at set). Only the
# other rows come back (nearly always none: the Python side then does no work per row):
# found but not deliverable (`unsent` ones are in the table's hands, their users held),
# and not found (aggregate_id NULL; see _GONE). The join is bounded by the batch's lowest
# and highest seq: unbounded, the planner merged it with a scan of the key's index from
# the table's first row (and past every row the stream had deleted since the last check),
# 9.5 against 4.3 ms for a batch of 5,000 read after 40,000 (scripts/bench_relay.py's
# backlog).
_STREAM_VERDICTS = """
SELECT q.seq, o.aggregate_id,
       o.state = 'pending' OR (o.state = 'parked' AND o.payload IS NOT NULL)
FROM unnest(%(seqs)s::bigint[]) AS q(seq)
LEFT JOIN {table} o ON o.seq = q.seq AND o.seq BETWEEN %(lowest)s AND %(highest)s
WHERE o.seq IS NULL
   OR NOT (o.state = 'pending' AND o.claimed_until IS NULL AND o.next_attempt_at IS NULL)
"""

# Of rows not found, those gone for good: sent and deleted (the stream's rows are deleted
# once acked, the table's cleaned after the retention), as opposed to not visible yet
# (read from the log before its commit shows to other sessions). The inserting
# transaction decides: visible in this very statement's snapshot, its row would be too.
# The log gives a 32-bit xid; its 64-bit form (xid8) is the one within 2^31 of the
# snapshot's xmax, before or after it (`d`: its distance past xmax, modulo 2^32).
_GONE = """
SELECT q.seq
FROM (SELECT pg_current_snapshot() AS snap) s
CROSS JOIN LATERAL (SELECT pg_snapshot_xmax(s.snap)::text::bigint AS xmax) x
CROSS JOIN LATERAL unnest(%(seqs)s::bigint[], %(xids)s::bigint[]) AS q(seq, xid)
CROSS JOIN LATERAL (SELECT (q.xid - (x.xmax & 4294967295) + 4294967296) %% 4294967296 AS d) d
LEFT JOIN {table} o ON o.seq = q.seq
WHERE o.seq IS NULL AND pg_visible_in_snapshot(
    greatest(x.xmax + d.d - CASE WHEN d.d >= 2147483648 THEN 4294967296 ELSE 0 END,
             0)::text::xid8,
    s.snap)
"""

# The stream's acked rows: deleted, not marked (see CaptureStore.remove_streamed). As
# the mark, whatever their state now but sent already.
_REMOVE_STREAMED = """
DELETE FROM {table} WHERE seq = ANY(%(seqs)s::bigint[]) AND state IN ('pending', 'parked')
"""

# Users the log must not overtake: a parked row (with its payload), or a pending one
# deferred to the table (next_attempt_at set) or leased by a claim.
_HELD_USERS = """
SELECT DISTINCT aggregate_id FROM {table}
WHERE (state = 'parked' AND payload IS NOT NULL)
   OR (state = 'pending' AND (next_attempt_at IS NOT NULL OR claimed_until IS NOT NULL))
"""

# ... and, among given users, those with any unsent row left (the check that frees them)
_UNSENT_USERS = """
SELECT DISTINCT aggregate_id FROM {table}
WHERE aggregate_id = ANY(%(users)s)
  AND (state = 'pending' OR (state = 'parked' AND payload IS NOT NULL))
"""

_EVERY_UNSENT_USER = """
SELECT DISTINCT aggregate_id FROM {table}
WHERE state = 'pending' OR (state = 'parked' AND payload IS NOT NULL)
"""


def _array_text(numbers: Iterable[int]) -> str:
    """PostgreSQL's text form of an array of integers: ``{1,2,3}``, the form the relay's
    statements take their seqs in (cast to ``bigint[]`` there). The driver's dumping of a
    Python list, item by item, cost more than the query (scripts/bench_relay.py)."""
    return "{" + ",".join(map(str, numbers)) + "}"


class PostgresOutboxStore(SqlOutboxStore, CaptureStore):
    def __init__(
        self,
        engine: Engine,
        *,
        table_name: str = OUTBOX_TABLE,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(engine, table_name=table_name, now=now)
        self._autocommit_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        quoted = engine.dialect.identifier_preparer.quote(self.table.name)
        self._claim_sql = _CLAIM.format(table=quoted, only="")
        self._claim_held_sql = _CLAIM.format(
            table=quoted, only="\n      AND o.aggregate_id = ANY(%(users)s)"
        )
        self._stream_verdicts_sql = _STREAM_VERDICTS.format(table=quoted)
        self._gone_sql = _GONE.format(table=quoted)
        self._held_users_sql = _HELD_USERS.format(table=quoted)
        self._unsent_users_sql = _UNSENT_USERS.format(table=quoted)
        self._every_unsent_user_sql = _EVERY_UNSENT_USER.format(table=quoted)
        self._mark_sent_sql = _MARK_SENT.format(table=quoted)
        self._remove_streamed_sql = _REMOVE_STREAMED.format(table=quoted)

    def claim_batch(self, relay_id: str, limit: int, lease: timedelta) -> list[OutboxEvent]:
        """Select, lock, keep the prefixes and lease them in one statement (one round trip)."""
        now = self._now()
        params = {"now": now, "limit": limit, "relay": relay_id, "until": now + lease}
        rows = self._execute_hot(self._claim_sql, params)
        return in_delivery_order([OutboxEvent.from_columns(row) for row in rows])

    # -- the log-based relay (CaptureStore) -----------------------------------------------

    def claim_held(
        self, relay_id: str, users: Sequence[str], limit: int, lease: timedelta
    ) -> list[OutboxEvent]:
        if not users:
            return []
        now = self._now()
        params = {
            "now": now,
            "limit": limit,
            "relay": relay_id,
            "until": now + lease,
            "users": list(users),
        }
        rows = self._execute_hot(self._claim_held_sql, params)
        return in_delivery_order([OutboxEvent.from_columns(row) for row in rows])

    def stream_verdicts(
        self, seqs: Sequence[int], xids: Sequence[int]
    ) -> tuple[set[int], set[str]]:
        """See :meth:`CaptureStore.stream_verdicts`.

        A row can reach the log reader before the database shows it to other sessions:
        a commit is written to the log, and read from it, before the committing session
        publishes it (ProcArrayEndTransaction). A row not found whose transaction is not
        visible yet either is looked for again, a few times over at most
        :data:`INVISIBLE_PATIENCE` seconds; one found gone (its transaction visible, the
        row not) was sent, and is skipped at once.
        """
        deliverable: set[int] = set()
        held: set[str] = set()
        wanted = dict(zip(seqs, xids, strict=True))
        deadline = time.monotonic() + INVISIBLE_PATIENCE
        pause = 0.001
        while wanted:
            params = {"seqs": _array_text(wanted), "lowest": min(wanted), "highest": max(wanted)}
            missing: dict[int, int] = {}
            for seq, user, unsent in self._execute_hot(self._stream_verdicts_sql, params):
                xid = wanted.pop(seq)
                if user is None:
                    missing[seq] = xid
                elif unsent:
                    held.add(user)
            deliverable.update(wanted)  # every row not returned
            wanted = missing
            if missing:
                params = {"seqs": _array_text(missing), "xids": _array_text(missing.values())}
                for (seq,) in self._execute_hot(self._gone_sql, params):
                    del wanted[seq]  # sent: neither delivered again nor held
            if wanted and time.monotonic() < deadline:  # not visible yet: looked for again
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
            elif wanted:
                log.warning("outbox rows %s read from the log are not in the table", list(wanted))
                break
        return deliverable, held

    def remove_streamed(self, events: Sequence[OutboxEvent]) -> None:
        if events:
            seqs = _array_text(e.seq for e in events)
            self._execute_hot(self._remove_streamed_sql, {"seqs": seqs})

    def held_users(self, among: Sequence[str] | None = None) -> set[str]:
        if among is None:
            return {user for (user,) in self._execute_hot(self._held_users_sql, {})}
        if not among:
            return set()
        rows = self._execute_hot(self._unsent_users_sql, {"users": list(among)})
        return {user for (user,) in rows}

    def every_unsent_user(self) -> set[str]:
        return {user for (user,) in self._execute_hot(self._every_unsent_user_sql, {})}

    def mark_sent(self, events: Sequence[OutboxEvent]) -> None:
        if not events:
            return
        self._execute_hot(
            self._mark_sent_sql, {"now": self._now(), "seqs": _array_text(e.seq for e in events)}
        )

    def _execute_hot(self, sql: str, params: dict[str, Any]) -> Sequence[Any]:
        """One of the relay's statements per batch, on the driver's own cursor.

        SQLAlchemy's statement building, cache-key generation and row objects cost more CPU
        than the database's work on them; the rows come back as plain driver tuples. Run in
        autocommit mode: a single statement is its own transaction anyway, and the driver
        then sends neither a ``BEGIN`` nor a ``COMMIT``, two round trips of three.
        """
        dbapi = self.engine.dialect.loaded_dbapi
        with outages_as_unavailable(), self._autocommit_engine.connect() as conn:
            cursor = conn.connection.cursor()
            try:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description is not None else []
            except (dbapi.OperationalError, dbapi.InterfaceError) as exc:
                # The driver's cursor is past SQLAlchemy's error wrapping, so translate here
                # too: a statement cancelled by a statement_timeout, or cut off with its
                # connection, is an outage to back off from, not the relay's end. The
                # connection is thrown away rather than reset (a rollback on a dead socket
                # would only log a traceback).
                conn.invalidate(exc)
                raise StoreUnavailableError(str(exc).splitlines()[0]) from exc
            finally:
                cursor.close()

    def _seq_in(self, seqs: Sequence[int]) -> ColumnElement[bool]:
        # one array parameter instead of thousands of placeholders
        return self.table.c.seq == any_(bindparam("seqs", list(seqs), type_=ARRAY(BigInteger())))

    def _end_claims(self, conn: Connection, relay_id: str) -> None:
        """Nothing more: on PostgreSQL a relay's claims are its rows' leases alone."""
