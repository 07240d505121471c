"""The outbox store for a database URL: PostgreSQL's or SQLite's."""

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

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


def outbox_url_problem(url: str) -> str | None:
    """Why ``url`` cannot name an outbox database (None: it can). Never quotes the URL,
    which may hold a password."""
    try:
        dialect = make_url(url).get_backend_name()
    except (ArgumentError, ValueError):  # no scheme, a port that is no number, ...
        dialect = None
    if dialect in ("postgresql", "sqlite"):
        return None
    return (
        "not a PostgreSQL or SQLite URL; give postgresql+psycopg://USER:PASSWORD@HOST:PORT/"
        "DATABASE or sqlite:///PATH"
    )
