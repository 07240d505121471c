"""The outbox table, for a service to add to its metadata (and so to its migrations).

Columns (documented for operators in services/auth/README.md, "The outbox table"):

- ``seq``: insertion order; a tie-break only, never a read cursor (ids are taken before
  commit, and transactions commit out of id order).
- ``event_id``: the event's UUID, unique; a Kafka header too, consumers dedup on it.
- ``aggregate_id`` / ``aggregate_version``: the user id and the version this event brings
  it to; the relay keeps per-aggregate order by them.
- ``record_type``: the record's full Avro name (``playball.auth.v1.UserRegistered``).
- ``topic`` / ``subject``: where it goes, and the subject whose schema id heads it.
- ``payload``: the schemaless Avro body, written at flush time by the generated class.
- ``schema_fingerprint``: sha256 of the writing class's schema, so a payload is never sent
  under another schema after a deploy.
- ``headers``: JSON object of extra Kafka headers (``traceparent`` when a trace is active).
- ``created_at``: flush time, UTC (not the commit time).
- ``state``: ``pending`` / ``sent`` / ``parked``.
- ``attempts`` / ``last_error`` / ``next_attempt_at``: retries with backoff, last reason.
- ``claimed_by`` / ``claimed_until``: the relay holding a lease on the row, and until when.
- ``sent_at``: when the broker acked it; cleanup removes sent rows after the retention.
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    text,
)

from playball_events.outbox.model import OutboxState

OUTBOX_TABLE = "outbox"
_UNSENT = text(f"state IN ('{OutboxState.PENDING.value}', '{OutboxState.PARKED.value}')")


def define_outbox_table(metadata: MetaData, name: str = OUTBOX_TABLE) -> Table:
    """Add the outbox table to ``metadata`` and return it."""
    return Table(
        name,
        metadata,
        # BigInteger on Postgres, but SQLite only autoincrements an INTEGER primary key
        Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
        Column("event_id", Uuid(), nullable=False, unique=True),
        Column("aggregate_id", String(64), nullable=False),
        Column("aggregate_version", BigInteger(), nullable=False),
        Column("record_type", String(255), nullable=False),
        Column("topic", String(249), nullable=False),
        Column("subject", String(512), nullable=False),
        Column("payload", LargeBinary(), nullable=False),
        Column("schema_fingerprint", String(64), nullable=False),
        Column("headers", JSON(), nullable=False, default=dict),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column(
            "state",
            String(16),
            nullable=False,
            default=OutboxState.PENDING.value,
            server_default=text(f"'{OutboxState.PENDING.value}'"),
        ),
        Column("attempts", Integer(), nullable=False, default=0, server_default=text("0")),
        Column("last_error", Text(), nullable=True),
        Column("next_attempt_at", DateTime(timezone=True), nullable=True),
        Column("claimed_by", String(128), nullable=True),
        Column("claimed_until", DateTime(timezone=True), nullable=True),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        # the relay's claim: unsent rows per aggregate in version order. Partial, so
        # marking a row sent adds no entry here and the index stays the size of the backlog.
        Index(
            f"ix_{name}_unsent",
            "aggregate_id",
            "aggregate_version",
            postgresql_where=_UNSENT,
            sqlite_where=_UNSENT,
        ),
        # ... and the oldest pending rows first, without walking the sent rows still kept
        Index(
            f"ix_{name}_pending_seq",
            "seq",
            postgresql_where=text(f"state = '{OutboxState.PENDING.value}'"),
            sqlite_where=text(f"state = '{OutboxState.PENDING.value}'"),
        ),
        Index(f"ix_{name}_sent_at", "sent_at"),
        # Room on each page, so the relay's lease (columns no index covers) is a heap-only
        # update: no new entry in every index for each claimed row. The auth migration
        # 0003 sets it on existing tables.
        postgresql_with={"fillfactor": 50},
    )
