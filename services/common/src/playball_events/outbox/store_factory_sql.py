"""The outbox store for a database URL: PostgreSQL's or SQLite's."""

from playball_events.outbox.store_postgres_sql import PostgresOutboxStore, postgres_outbox_engine
from playball_events.outbox.store_sql import SqlOutboxStore
from playball_events.outbox.store_sqlite_sql import SqliteOutboxStore, sqlite_outbox_engine


def open_outbox_store(url: str, *, for_relay: bool = False) -> SqlOutboxStore:
    """The store of the outbox at ``url``; ``for_relay`` for the one a relay runs on.

    On PostgreSQL the relay's engine is tuned for its many short writes (see
    :func:`.store_postgres_sql.postgres_outbox_engine`).
    """
    if url.startswith("sqlite"):
        return SqliteOutboxStore(sqlite_outbox_engine(url))
    return PostgresOutboxStore(postgres_outbox_engine(url, for_relay=for_relay))
