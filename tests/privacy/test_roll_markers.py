"""Roll markers and dead-letter tombstones against fakes: when the relay and the consumer
write markers, that consumers skip them without parking them (or counting them for a run
of poison), and that a deletion tombstones its key on the dead-letter topic after the
batch's letters."""

import json
import uuid
from collections.abc import Sequence

import pytest
from consumer.fakes import FakeDeadLetters, FakeHandler, FakeProcessedEvents, FakeSource, UserEvent
from playball_core.registry import InMemoryRegistry
from playball_events.consumer.loop import EventConsumer
from playball_events.consumer.metrics import ConsumerMetrics
from playball_events.consumer.poison_runs import PoisonRuns
from playball_events.consumer.ports import ConsumedEvent, DeadLetter, Position, RawMessage
from playball_events.contracts import UserDeleted, UserRegistered, UserUpdated
from playball_events.lifecycle import Backoff
from playball_events.roll_markers import (
    RETRY_AFTER,
    RollMarkers,
    RollMarking,
    is_control_key,
    roll_marker_key,
)
from playball_events.serde import RecordDeserializer, RecordSerializer
from relay.test_relay_core import FakePublisher, FakeStore, history, make_relay
from support.user_events import deleted, registered, updated

TOPIC = "events"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeMarkers(RollMarkers):
    def __init__(self) -> None:
        self.rounds = 0
        self.failures_left = 0

    def write(self) -> int:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("broker away")
        self.rounds += 1
        return 6


def test_the_marker_key_names_the_partition_and_is_a_control_key() -> None:
    assert roll_marker_key(3) == b"_playball/roll/3"
    assert is_control_key(roll_marker_key(0))
    assert not is_control_key(str(uuid.uuid4()).encode())
    assert not is_control_key(None)
    assert not is_control_key(b"_playball")  # the prefix ends with its slash


def test_markers_are_written_at_start_then_once_per_interval() -> None:
    clock, markers = Clock(), FakeMarkers()
    marking = RollMarking(markers, interval=60.0, monotonic=clock)
    assert marking.tick()  # at start: a restarted relay leaves no gap
    assert markers.rounds == 1
    clock.now += 59.9
    assert not marking.tick()
    clock.now += 0.1
    assert marking.tick()
    assert markers.rounds == 2


def test_a_failed_round_is_retried_soon_and_never_raises() -> None:
    clock, markers = Clock(), FakeMarkers()
    markers.failures_left = 1
    marking = RollMarking(markers, interval=3600.0, monotonic=clock)
    assert not marking.tick()  # logged, not raised: the owner's own work goes on
    clock.now += RETRY_AFTER - 1
    assert not marking.tick()
    clock.now += 1
    assert marking.tick()
    assert markers.rounds == 1


def test_a_short_interval_is_also_the_retry_delay() -> None:
    clock, markers = Clock(), FakeMarkers()
    markers.failures_left = 1
    marking = RollMarking(markers, interval=2.0, monotonic=clock)
    marking.tick()
    clock.now += 2.0
    assert marking.tick()


def test_the_relay_writes_markers_between_rounds_and_delivers_all_the_same() -> None:
    store, publisher, markers = FakeStore(), FakePublisher(), FakeMarkers()
    markers.failures_left = 1  # even a failing first round costs no event
    store.insert_events(history(uuid.uuid4(), 2))
    relay, _wakeup = make_relay(store, publisher)
    relay.marking = RollMarking(markers, interval=3600.0)
    relay.run()  # the fake wake-up stops it once idle
    assert len(store.sent) == 2
    assert markers.failures_left == 0  # the round was tried


class OrderedDeadLetters(FakeDeadLetters):
    """Which came first: the parking or the erasing."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def park(self, letters: Sequence[DeadLetter]) -> int:
        self.calls.append("park")
        return super().park(letters)

    def erase(self, messages: Sequence[RawMessage]) -> None:
        self.calls.append("erase")
        super().erase(messages)


class ErasingHandler(FakeHandler):
    """The fake handler, telling the loop that a deletion erases its user."""

    def is_erasure(self, event: ConsumedEvent[UserEvent]) -> bool:
        return isinstance(event.record, UserDeleted)


@pytest.fixture
def registry() -> InMemoryRegistry:
    registry = InMemoryRegistry()
    serializer = RecordSerializer(registry, TOPIC)
    for cls in (UserRegistered, UserUpdated, UserDeleted):
        registry.register(serializer.subject(cls), json.dumps(cls.avro_schema()))
    return registry


class Offsets:
    def __init__(self) -> None:
        self.next = 0

    def take(self) -> int:
        self.next += 1
        return self.next - 1


def message(
    registry: InMemoryRegistry, event: UserEvent, offsets: Offsets, **changes: object
) -> RawMessage:
    fields: dict[str, object] = {
        "topic": TOPIC,
        "partition": 0,
        "offset": offsets.take(),
        "key": str(event.user_id).encode(),
        "value": RecordSerializer(registry, TOPIC).serialize(event),
        "headers": (("event_id", str(event.event_id).encode()),),
    }
    fields.update(changes)
    return RawMessage(**fields)  # type: ignore[arg-type]


def marker(offsets: Offsets, partition: int = 0) -> RawMessage:
    return RawMessage(TOPIC, partition, offsets.take(), roll_marker_key(partition), None)


def loop(
    registry: InMemoryRegistry,
    source: FakeSource,
    handler: FakeHandler,
    dlq: FakeDeadLetters,
    *,
    processed: FakeProcessedEvents | None = None,
    marking: RollMarking | None = None,
    max_consecutive_poison: int = 100,
) -> EventConsumer[UserEvent, set[uuid.UUID]]:
    decoder: RecordDeserializer[UserEvent] = RecordDeserializer(
        registry, [UserRegistered, UserUpdated, UserDeleted]
    )
    return EventConsumer(
        source,
        decoder,
        handler,
        dlq,
        ConsumerMetrics(TOPIC),
        processed=processed or FakeProcessedEvents(),
        batch_size=100,
        backoff=Backoff(first=0.0, limit=0.0),
        max_consecutive_poison=max_consecutive_poison,
        marking=marking,
    )


def test_markers_are_skipped_never_parked_and_committed_past(registry: InMemoryRegistry) -> None:
    offsets, user = Offsets(), uuid.uuid4()
    messages = [marker(offsets), message(registry, registered(user), offsets), marker(offsets)]
    source, handler, dlq = FakeSource(messages), ErasingHandler(), FakeDeadLetters()
    report = loop(registry, source, handler, dlq).run_once()
    assert report.markers == 2
    assert report.applied == 1
    assert dlq.parked == []
    assert source.committed == [Position(TOPIC, 0, messages[-1].offset + 1)]


def test_a_deletion_tombstones_its_key_on_the_dead_letter_topic_after_the_letters(
    registry: InMemoryRegistry,
) -> None:
    offsets, user, other = Offsets(), uuid.uuid4(), uuid.uuid4()
    poison = message(registry, updated(user, 2, "Bad"), offsets, key=b"not-the-user")
    messages = [
        message(registry, registered(user), offsets),
        poison,  # parked in this batch: a good message follows it
        message(registry, deleted(user, 3), offsets),
        message(registry, registered(other), offsets),  # not a deletion: no tombstone
    ]
    source, handler, dlq = FakeSource(messages), ErasingHandler(), OrderedDeadLetters()
    report = loop(registry, source, handler, dlq).run_once()
    assert [letter.message for letter in dlq.parked] == [poison]
    assert [m.key for m in dlq.erased] == [str(user).encode()]
    assert dlq.calls == ["park", "erase"]  # the letter lands before the tombstone
    assert report.erased == 1


def test_a_redelivered_deletion_writes_its_tombstone_again(registry: InMemoryRegistry) -> None:
    # a crash after the database commit: the deletion comes back as a duplicate, and its
    # tombstone (maybe never written) must still be
    offsets, user = Offsets(), uuid.uuid4()
    deletion = message(registry, deleted(user, 2), offsets)
    processed, dlq = FakeProcessedEvents(), FakeDeadLetters()
    loop(registry, FakeSource([deletion]), ErasingHandler(), dlq, processed=processed).run_once()
    again = loop(registry, FakeSource([deletion]), ErasingHandler(), dlq, processed=processed)
    report = again.run_once()
    assert report.duplicates == 1
    assert [m.key for m in dlq.erased] == [str(user).encode()] * 2


def test_a_tombstone_that_cannot_be_written_retries_the_batch(registry: InMemoryRegistry) -> None:
    offsets, user = Offsets(), uuid.uuid4()
    source, dlq = FakeSource([message(registry, deleted(user, 2), offsets)]), FakeDeadLetters()
    dlq.failures_left = 1
    consumer = loop(registry, source, ErasingHandler(), dlq)
    first = consumer.run_once()
    assert first.retried
    assert source.committed == []  # not past the deletion while its tombstone is missing
    consumer.run_once()
    assert [m.key for m in dlq.erased] == [str(user).encode()]
    assert source.committed == [Position(TOPIC, 0, 1)]


def test_the_consumer_writes_its_markers_from_its_poll_loop(registry: InMemoryRegistry) -> None:
    markers = FakeMarkers()
    consumer = loop(
        registry,
        FakeSource([]),
        ErasingHandler(),
        FakeDeadLetters(),
        marking=RollMarking(markers, interval=3600.0),
    )
    consumer.run_once()
    consumer.run_once()  # not due again within the interval
    assert markers.rounds == 1


def letter(message: RawMessage) -> DeadLetter:
    return DeadLetter(message=message, reason="bad", kind="invalid")


def test_a_marker_neither_ends_nor_extends_a_run_of_poison() -> None:
    offsets = Offsets()
    first, second = (RawMessage(TOPIC, 0, offsets.take(), b"k", b"x") for _ in range(2))
    between = marker(offsets)
    runs = PoisonRuns(limit=2)
    poison = {(TOPIC, 0, m.offset): letter(m) for m in (first, second)}
    # poison, a marker, poison: still one run, which reaches the limit of two
    plan = runs.plan([first, between, second], poison)
    assert plan.stopped is not None
    assert plan.stopped.count == 2
    assert plan.park == []  # a marker does not prove the consumer can read its topic
    assert plan.commits == []  # and nothing past the run's first offset is committed


def test_a_marker_after_a_run_keeps_it_open_and_held() -> None:
    offsets = Offsets()
    bad = RawMessage(TOPIC, 0, offsets.take(), b"k", b"x")
    plan = PoisonRuns(limit=10).plan([bad, marker(offsets)], {(TOPIC, 0, bad.offset): letter(bad)})
    assert plan.park == []
    assert plan.held == 1
    assert plan.commits == []
