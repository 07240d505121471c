"""The generic outbox writer of playball_events, with a toy model and collector (nothing
of the auth service): any service can plug its own change detection into it."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playball_events.outbox.model import NewOutboxEvent
from playball_events.outbox.table_sql import define_outbox_table
from playball_events.outbox.writer_sql import install_outbox_writer, outbox_rows
from sqlalchemy import Engine, MetaData, String, create_engine, func, select
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


def collect(session: Session) -> list[NewOutboxEvent]:
    return [event_for(obj) for obj in session.new if isinstance(obj, Thing)]


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


def test_flushes_write_the_collected_events_until_uninstalled(engine: Engine) -> None:
    sessions = sessionmaker(engine)
    uninstall = install_outbox_writer(sessions, collect, toy_outbox, headers=lambda: {"x": "1"})
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
        session.rollback()
    assert count(engine) == 2

    uninstall()
    with sessions() as session:
        session.add(Thing(id="d"))
        session.commit()
    assert count(engine) == 2


def test_an_events_own_headers_win_over_the_providers() -> None:
    event = event_for(Thing(id="a"), headers={"traceparent": "mine"})
    (row,) = outbox_rows([event], {"traceparent": "ambient", "other": "y"})
    assert row["headers"] == {"traceparent": "mine", "other": "y"}
