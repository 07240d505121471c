"""The reader record's heartbeat, driven by a fake clock and a fake sink."""

import datetime as dt
import json
import uuid

from playball_events.contracts import UserRegistered, UserUpdated
from playball_events.readers.heartbeat import ReaderHeartbeat
from playball_events.readers.identity import (
    ReaderIdentity,
    fingerprint,
    new_identity,
    reader_schemas,
)
from playball_events.readers.ports import ReaderPublishError
from playball_events.runtime_records import ReaderRecord

T0 = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> dt.datetime:
        return T0 + dt.timedelta(seconds=self.now - 1000.0)


class Sink:
    def __init__(self) -> None:
        self.published: list[tuple[str, ReaderRecord]] = []
        self.failing = False

    def publish(self, key: str, record: ReaderRecord) -> None:
        if self.failing:
            raise ReaderPublishError("broker down")
        self.published.append((key, record))

    def close(self) -> None:
        pass


def identity() -> ReaderIdentity:
    return new_identity(
        service="groups-consumer",
        distribution="playball-groups",
        consumer_group="playball-groups",
        topic="playball.auth.user-events.v1",
        classes=[UserUpdated, UserRegistered],
        now=T0,
    )


def heartbeat(sink: Sink, clock: Clock, outcomes: list[bool]) -> ReaderHeartbeat:
    return ReaderHeartbeat(
        identity(), sink, on_outcome=outcomes.append, clock=clock, wall=clock.wall
    )


def test_published_at_start_then_at_most_once_a_minute() -> None:
    sink, clock = Sink(), Clock()
    outcomes: list[bool] = []
    beat = heartbeat(sink, clock, outcomes)
    assert beat.tick()
    clock.now += 59.9
    assert not beat.tick()
    clock.now += 0.1
    assert beat.tick()
    assert len(sink.published) == 2
    first, second = (record for _, record in sink.published)
    assert second.last_seen - first.last_seen == dt.timedelta(seconds=60)
    assert first.started_at == second.started_at == T0
    assert first.stopped_at is None
    assert outcomes == [True, True]


def test_a_failure_sets_the_gauge_to_0_and_is_retried_soon() -> None:
    sink, clock = Sink(), Clock()
    outcomes: list[bool] = []
    beat = heartbeat(sink, clock, outcomes)
    sink.failing = True
    assert not beat.tick()
    assert outcomes == [False]
    sink.failing = False
    clock.now += 4.9
    assert not beat.tick()  # not yet: retried after RETRY_SECONDS, not in a busy loop
    clock.now += 0.1
    assert beat.tick()
    assert outcomes == [False, True]


def test_a_clean_stop_writes_stopped_at() -> None:
    sink, clock = Sink(), Clock()
    outcomes: list[bool] = []
    beat = heartbeat(sink, clock, outcomes)
    beat.tick()
    clock.now += 10
    assert beat.stop()
    key, record = sink.published[-1]
    assert record.stopped_at == T0 + dt.timedelta(seconds=10)
    assert record.last_seen == record.stopped_at
    assert key == sink.published[0][0]


def test_the_key_names_service_group_topic_and_a_fresh_instance() -> None:
    one, two = identity(), identity()
    assert one.key.startswith("groups-consumer/playball-groups/playball.auth.user-events.v1/")
    assert uuid.UUID(one.key.rsplit("/", 1)[1]) == one.instance_id
    assert one.key != two.key  # instances of one group never overwrite each other


def test_each_handled_record_carries_its_full_reader_schema_and_fingerprint() -> None:
    record = identity().record(last_seen=T0)
    names = [entry.record_name for entry in record.readers]
    assert names == ["playball.auth.v1.UserRegistered", "playball.auth.v1.UserUpdated"]
    registered = record.readers[0]
    assert json.loads(registered.schema) == UserRegistered.avro_schema()
    assert registered.fingerprint == fingerprint(UserRegistered.avro_schema())
    assert len(registered.fingerprint) == 64
    # the record round-trips through its own contract
    assert ReaderRecord.from_avro_bytes(record.to_avro_bytes()) == record


def test_the_fingerprint_ignores_docs_but_not_types() -> None:
    schema = UserRegistered.avro_schema()
    undocumented = {**schema, "doc": "something else"}
    assert fingerprint(undocumented) == fingerprint(schema)
    [entry] = reader_schemas([UserUpdated])
    assert entry.fingerprint != fingerprint(schema)


def test_the_reporter_publishes_on_its_thread_and_stops_with_stopped_at() -> None:
    import time  # noqa: PLC0415

    from playball_events.readers.reporter import ReaderReporter  # noqa: PLC0415

    class ClosingSink(Sink):
        closed = False

        def close(self) -> None:
            self.closed = True

    sink = ClosingSink()
    reporter = ReaderReporter(ReaderHeartbeat(identity(), sink), sink)
    reporter.start()
    deadline = time.monotonic() + 30
    while not sink.published:
        assert time.monotonic() < deadline, "no reader record published at start"
        time.sleep(0.01)
    reporter.stop()
    assert [record.stopped_at is None for _, record in sink.published] == [True, False]
    assert sink.closed
