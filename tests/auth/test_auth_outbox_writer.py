"""The generic outbox writer of playball_events, with a toy model and flush hook (nothing
of the auth service): any service's flush hook can write its events with it."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playball_events.contracts import UserRegistered
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_events.outbox.model import NewOutboxEvent, new_outbox_event, schema_fingerprint
from playball_events.outbox.table_sql import define_outbox_table
from playball_events.outbox.writer_sql import outbox_rows, write_outbox_events
from sqlalchemy import Engine, MetaData, String, create_engine, event, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


class Base(DeclarativeBase):
    pass


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)


outbox_metadata = MetaData()
toy_outbox = define_outbox_table(outbox_metadata, name="toy_outbox")


def event_for(thing: Thing, headers: dict[str, str] | None = None) -> NewOutboxEvent:
    return NewOutboxEvent(
        event_id=uuid.uuid4(),
        aggregate_id=thing.id,
        aggregate_version=1,
        record_type="toy.ThingCreated",
        topic="toy",
        subject="toy-toy.ThingCreated",
        payload=b"\x00",
        schema_fingerprint="0" * 64,
        created_at=datetime.now(UTC),
        headers=headers or {},
    )


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    outbox_metadata.create_all(engine)
    yield engine
    engine.dispose()


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(toy_outbox)) or 0)


def count_in(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(toy_outbox)) or 0)


def test_a_flush_hooks_rows_commit_and_roll_back_with_the_flush(engine: Engine) -> None:
    sessions = sessionmaker(engine)

    def write_new_things(session: Session, _context: object, _instances: object) -> None:
        events = [event_for(obj) for obj in session.new if isinstance(obj, Thing)]
        write_outbox_events(session.connection(), toy_outbox, events, lambda: {"x": "1"})

    event.listen(sessions, "before_flush", write_new_things)
    with sessions() as session:
        session.add_all([Thing(id="a"), Thing(id="b")])
        session.commit()
    with engine.connect() as conn:
        rows = conn.execute(select(toy_outbox.c.aggregate_id, toy_outbox.c.headers)).all()
    assert sorted(rows) == [("a", {"x": "1"}), ("b", {"x": "1"})]

    with sessions() as session:  # a flush with nothing to say writes nothing
        session.get(Thing, "a")
        session.commit()
    with sessions() as session:
        session.add(Thing(id="c"))
        session.flush()
        assert count_in(session) == 3  # in the flush's transaction...
        session.rollback()
    assert count(engine) == 2  # ...and gone with it


def test_an_events_own_headers_win_over_the_providers() -> None:
    event = event_for(Thing(id="a"), headers={"traceparent": "mine"})
    (row,) = outbox_rows([event], {"traceparent": "ambient", "other": "y"})
    assert row["headers"] == {"traceparent": "mine", "other": "y"}


def test_a_records_row_names_its_subject_and_writing_schema() -> None:
    topic = PLAYBALL_AUTH_USER_EVENTS_V1
    record = UserRegistered(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        user_id=uuid.uuid4(),
        user_version=3,
        username="alice",
        display_name="Alice",
    )
    row = new_outbox_event(record, topic, aggregate_id="agg", aggregate_version=7)
    subject = topic.subject_of(UserRegistered)
    assert (row.event_id, row.created_at) == (record.event_id, record.occurred_at)
    assert (row.aggregate_id, row.aggregate_version) == ("agg", 7)
    assert (row.topic, row.subject, row.record_type) == (
        topic.name,
        subject.name,
        subject.record_full_name,
    )
    assert row.schema_fingerprint == schema_fingerprint(UserRegistered.avro_schema())
    assert UserRegistered.from_avro_bytes(row.payload) == record
    assert row.headers == {}
