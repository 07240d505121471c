"""The processed-events table: one row per applied event id, written in the same
transaction as the view change, so a redelivered event is recognised as a duplicate.

A service adds it to its own metadata (and so to its migrations), as it does the outbox.
Rows are kept: the per-user version guard keeps the view right even without them, but
they make a duplicate cost one lookup, and they are what a replay test compares.
"""

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, Uuid

PROCESSED_EVENTS_TABLE = "processed_events"


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
