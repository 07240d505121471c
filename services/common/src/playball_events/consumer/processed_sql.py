"""The processed-events table and its claim: one row per applied event id, written in the
same transaction as the view change, so a redelivered event is recognised as a duplicate.

A service adds the table to its own metadata (and so to its migrations), as it does the
outbox, and gives the loop a :class:`SqlProcessedEvents` over it. Rows are kept: the
service's own guards keep its view right even without them, but they make a duplicate
cost one lookup, and they are what a replay test compares.
"""

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    text,
)
from sqlalchemy.dialects import sqlite

from playball_events.consumer.ports import ConsumedEvent, ProcessedEvents
from playball_events.driver_sql import DriverStatement

PROCESSED_EVENTS_TABLE = "processed_events"

# The batch's rows as four array literals (cheap text to build, one parameter each:
# psycopg's per-element adaptation costs more than the SQL), inserted where new, and
# answering only the ids that were there before, nearly always none, so the batch's ids
# are not sent back and parsed into UUIDs. A repeat inside the batch is inserted once
# (DO NOTHING skips the second) and is in ``ins``, so not reported. ON CONFLICT also waits
# out a concurrent consumer's uncommitted row during a rebalance instead of failing.
PG_CLAIM = """
WITH r AS (SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:topics AS text[]),
    CAST(:partitions AS integer[]), CAST(:offsets AS bigint[])) AS r(e, t, p, o)),
ins AS (INSERT INTO {table} (event_id, topic, partition, "offset", processed_at)
    SELECT r.e, r.t, r.p, r.o, :at FROM r ON CONFLICT (event_id) DO NOTHING RETURNING event_id)
SELECT e FROM r EXCEPT SELECT event_id FROM ins
"""


def define_processed_events_table(metadata: MetaData, name: str = PROCESSED_EVENTS_TABLE) -> Table:
    """Add the processed-events table to ``metadata`` and return it."""
    return Table(
        name,
        metadata,
        Column("event_id", Uuid(), primary_key=True),
        Column("topic", String(249), nullable=False),
        Column("partition", Integer(), nullable=False),
        Column("offset", BigInteger(), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )


def _array(values: Sequence[object]) -> str:
    """A PostgreSQL array literal of values whose text never needs escaping in quotes
    (UUIDs as 32 hex digits, a third of the cost of ``str()``; numbers; topic names)."""
    return '{"' + '","'.join(map(str, values)) + '"}'


class SqlProcessedEvents(ProcessedEvents[Connection]):
    """The claim as ONE statement: PostgreSQL's above, or a portable
    ``INSERT … ON CONFLICT DO NOTHING RETURNING`` (SQLite)."""

    def __init__(
        self,
        engine: Engine,
        table: Table,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._engine = engine
        self._table = table
        self._clock = clock
        self._pg_claim: DriverStatement | None = None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self._engine.begin() as connection:
            yield connection

    def claim(self, events: Sequence[ConsumedEvent[Any]], tx: Connection) -> set[uuid.UUID]:
        if not events:
            return set()
        messages = [e.message for e in events]
        ids = [e.record.event_id for e in events]
        if tx.dialect.name == "postgresql":
            parameters = {
                "ids": _array([i.hex for i in ids]),
                "topics": _array([m.topic for m in messages]),
                "partitions": _array([m.partition for m in messages]),
                "offsets": _array([m.offset for m in messages]),
                "at": self._clock(),
            }
            if self._pg_claim is None:
                name = tx.dialect.identifier_preparer.format_table(self._table)
                self._pg_claim = DriverStatement(text(PG_CLAIM.format(table=name)))
            return {event_id for (event_id,) in self._pg_claim.rows(tx, parameters)}
        at = self._clock()
        rows = [
            {
                "event_id": i,
                "topic": m.topic,
                "partition": m.partition,
                "offset": m.offset,
                "processed_at": at,
            }
            for i, m in zip(ids, messages, strict=True)
        ]
        event_id = self._table.c.event_id
        statement = sqlite.insert(self._table).on_conflict_do_nothing(index_elements=[event_id])
        claimed = set(tx.scalars(statement.returning(event_id), rows))
        return set(ids) - claimed
