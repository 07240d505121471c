"""The processed-events claim (:class:`SqlProcessedEvents`) on SQLite and PostgreSQL:
its PostgreSQL statement and its portable one, tested once for every consumer."""

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from playball_events.consumer.ports import ConsumedEvent, RawMessage
from playball_events.consumer.processed_sql import (
    SqlProcessedEvents,
    define_processed_events_table,
)
from playball_events.utc_sql import as_utc
from sqlalchemy import Engine, MetaData, create_engine, func, select
from support.databases import fresh_postgres, sqlite_url
from support.user_events import UserEvent, registered

METADATA = MetaData()
TABLE = define_processed_events_table(METADATA)
_offsets = iter(range(10**9))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.stack)])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = create_engine(sqlite_url(tmp_path_factory.mktemp("processed")))
        METADATA.create_all(engine)
        yield engine
        engine.dispose()
        return
    with fresh_postgres(request.getfixturevalue("database_url"), "playball_processed") as url:
        engine = create_engine(url)
        METADATA.create_all(engine)
        yield engine
        engine.dispose()


def consumed(record: UserEvent, topic: str = "t") -> ConsumedEvent[UserEvent]:
    return ConsumedEvent(record, RawMessage(topic, 3, next(_offsets), None, None))


def rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(TABLE)) or 0)


def test_claim_answers_only_the_ids_processed_before(engine: Engine) -> None:
    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    processed = SqlProcessedEvents(engine, TABLE, clock=lambda: at)
    earlier, repeated, fresh = (consumed(registered(uuid.uuid4())) for _ in range(3))
    with processed.transaction() as tx:
        assert processed.claim([earlier], tx) == set()
    # one topic and two (the same statement either way); a repeat inside the batch is
    # recorded once and is not "processed before"
    for other in ("t", "a.topic-with_every.char"):
        again = consumed(repeated.record, other)
        batch = [earlier, repeated, again, fresh]
        with pytest.raises(RuntimeError), processed.transaction() as tx:
            assert processed.claim(batch, tx) == {earlier.event_id}
            assert processed.claim(batch, tx) == {e.event_id for e in batch}
            raise RuntimeError("rolled back: the next round starts from the same state")
    assert rows(engine) == 1
    with engine.connect() as connection:
        row = connection.execute(select(TABLE)).one()
    assert (row.event_id, row.topic, row.partition, row.offset) == (
        earlier.event_id,
        "t",
        3,
        earlier.message.offset,
    )
    assert as_utc(row.processed_at) == at


def test_a_large_batch_is_claimed_once(engine: Engine) -> None:
    processed = SqlProcessedEvents(engine, TABLE)
    batch = [consumed(registered(uuid.uuid4())) for _ in range(2500)]
    with processed.transaction() as tx:
        assert processed.claim(batch[:1000], tx) == set()
    with processed.transaction() as tx:
        assert processed.claim(batch, tx) == {e.event_id for e in batch[:1000]}
        assert processed.claim([], tx) == set()
    assert rows(engine) == 2500
