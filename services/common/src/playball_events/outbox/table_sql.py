"""The outbox table, for a service to add to its metadata (and so to its migrations).

Columns (documented for operators in services/auth/README.md, "The outbox table"):

- ``seq``: insertion order; a tie-break only, never a read cursor (ids are taken before
  commit, and transactions commit out of id order).
- ``event_id``: the event's UUID, unique; a Kafka header too, consumers dedup on it.
- ``aggregate_id`` / ``aggregate_version``: the user id and the version this event brings
  it to; the relay keeps per-aggregate order by them.
- ``record_type``: the record's full Avro name (``playball.auth.v1.UserRegistered``).
- ``topic`` / ``subject``: where it goes, and the subject whose schema id heads it.
- ``payload``: the schemaless Avro body, written at flush time by the generated class;
  NULL once erased: the transaction that writes a user's deletion erases the payloads of
  that user's parked rows (:func:`~.writer_sql.erase_parked_payloads`). Such a row keeps
  its reason, is never sent, and no longer holds its user's later events back.
- ``schema_fingerprint``: sha256 of the writing class's schema, so a payload is never sent
  under another schema after a deploy.
- ``headers``: JSON object of extra Kafka headers (``traceparent`` when a trace is active).
- ``created_at``: flush time, UTC (not the commit time).
- ``state``: ``pending`` / ``sent`` / ``parked``.
- ``attempts`` / ``last_error`` / ``next_attempt_at``: retries with backoff, last reason.
- ``claimed_by`` / ``claimed_until``: the relay holding a lease on the row, and until when.
- ``sent_at``: when the broker acked it; cleanup removes sent rows after the retention.

On PostgreSQL an ``AFTER INSERT … FOR EACH STATEMENT`` trigger runs
``pg_notify(OUTBOX_CHANNEL, '')``, so whatever inserts rows wakes the relay at commit
(notifications are sent only then, never for a rollback, and one per transaction however
many statements raise it), and the writer pays no round trip of its own for it.
"""

from collections.abc import Callable

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    event,
    text,
)

from playball_events.outbox.model import OUTBOX_CHANNEL, OutboxState

OUTBOX_TABLE = "outbox"
_UNSENT = text(f"state IN ('{OutboxState.PENDING.value}', '{OutboxState.PARKED.value}')")


def publication_name(table: str = OUTBOX_TABLE) -> str:
    """The publication the log-based relay reads ``table``'s inserts through."""
    return "playball_outbox" if table == OUTBOX_TABLE else f"playball_{table}"


def publication_ddl(name: str = OUTBOX_TABLE) -> tuple[list[str], list[str]]:
    """PostgreSQL statements that create, and drop, the publication of table ``name``:
    its inserts only (the relay's bookkeeping updates are no event)."""
    publication = publication_name(name)
    create = [f"CREATE PUBLICATION {publication} FOR TABLE {name} WITH (publish = 'insert')"]
    return create, [f"DROP PUBLICATION IF EXISTS {publication}"]


def notify_trigger_ddl(name: str = OUTBOX_TABLE) -> tuple[list[str], list[str]]:
    """PostgreSQL statements that create, and drop, the insert trigger of table ``name``.

    The trigger wakes polling relays. It stays silent while a log-based relay streams
    from a slot on this database: that relay reads the log and needs no wake-up, and a
    transaction that notifies serialises its commit with every other notifying one
    (measured in bench_relay.py: 8 writers commit about half as many transactions/s).
    The check is a look at the slots in shared memory, per insert statement.
    """
    function = f"{name}_notify_relay"
    # S608: the names are the table's own (define_outbox_table), never user input
    create = [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "  # noqa: S608
        "BEGIN "
        "IF NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE active "
        "AND database = current_database() AND plugin = 'pgoutput') THEN "
        f"PERFORM pg_notify('{OUTBOX_CHANNEL}', ''); "
        "END IF; RETURN NULL; END $$",
        f"CREATE TRIGGER {function} AFTER INSERT ON {name} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]
    drop = [f"DROP TRIGGER IF EXISTS {function} ON {name}", f"DROP FUNCTION IF EXISTS {function}()"]
    return create, drop


def define_outbox_table(metadata: MetaData, name: str = OUTBOX_TABLE) -> Table:
    """Add the outbox table to ``metadata`` and return it.

    ``metadata.create_all`` also creates its notify trigger and its publication on
    PostgreSQL (a service's migrations create them, see the auth migrations 0004, 0008).
    """
    table = _outbox_table(metadata, name)
    trigger, untrigger = notify_trigger_ddl(name)
    publish, unpublish = publication_ddl(name)
    create, drop = trigger + publish, unpublish + untrigger

    def run_on_postgres(statements: list[str]) -> Callable[..., None]:
        def run(_table: Table, connection: Connection, **_kw: object) -> None:
            if connection.dialect.name == "postgresql":
                for statement in statements:
                    connection.exec_driver_sql(statement)

        return run

    event.listen(table, "after_create", run_on_postgres(create))
    event.listen(table, "before_drop", run_on_postgres(drop))
    return table


def _outbox_table(metadata: MetaData, name: str) -> Table:
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
        Column("payload", LargeBinary(), nullable=True),  # NULL: erased (parked rows only)
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
