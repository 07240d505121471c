"""`open_outbox_store` picks the store by the database URL, without connecting."""

from pathlib import Path

from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.outbox.store_postgres_sql import PostgresOutboxStore
from playball_events.outbox.store_sqlite_sql import SqliteOutboxStore


def test_a_sqlite_url_gets_the_single_relay_store(tmp_path: Path) -> None:
    store = open_outbox_store(f"sqlite:///{tmp_path / 'outbox.db'}", for_relay=True)
    assert isinstance(store, SqliteOutboxStore)
    store.engine.dispose()


def test_a_postgres_url_gets_the_row_locking_store() -> None:
    url = "postgresql+psycopg://relay@127.0.0.1:1/outbox"
    for store in (open_outbox_store(url), open_outbox_store(url, for_relay=True)):
        assert isinstance(store, PostgresOutboxStore)
        store.engine.dispose()
