"""The consumer loop against fakes: order of commit, poison, transient failures, stop."""

import json
import uuid

import pytest
from playball_core.registry import InMemoryRegistry, RegistryUnreachableError
from playball_events.consumer.loop import EventConsumer
from playball_events.consumer.metrics import ConsumerMetrics
from playball_events.consumer.ports import Position, RawMessage
from playball_events.contracts import UserDeleted, UserRegistered, UserUpdated
from playball_events.lifecycle import Backoff
from playball_events.serde import HEADER_SIZE, RecordDeserializer, RecordSerializer, header
from support.user_events import registered, updated

from consumer.fakes import (
    FakeDeadLetters,
    FakeHandler,
    FakeProcessedEvents,
    FakeSource,
    UserEvent,
)

TOPIC = "events"
NO_WAIT = Backoff(first=0.0, limit=0.0)


class Unreachable(InMemoryRegistry):
    """A registry that is down until told otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def schema_by_id(self, schema_id: int) -> str:
        if self.down:
            raise RegistryUnreachableError("connection refused")
        return super().schema_by_id(schema_id)


@pytest.fixture
def registry() -> Unreachable:
    registry = Unreachable()
    serializer = RecordSerializer(registry, TOPIC)
    for cls in (UserRegistered, UserUpdated):  # UserDeleted deliberately not read below
        registry.register(serializer.subject(cls), json.dumps(cls.avro_schema()))
    registry.register(serializer.subject(UserDeleted), json.dumps(UserDeleted.avro_schema()))
    return registry


_offset = iter(range(10**9))


def message(registry: InMemoryRegistry, event: UserEvent, **changes: object) -> RawMessage:
    fields: dict[str, object] = {
        "topic": TOPIC,
        "partition": 0,
        "offset": next(_offset),
        "key": str(event.user_id).encode(),
        "value": RecordSerializer(registry, TOPIC).serialize(event),
        "headers": (("event_id", str(event.event_id).encode()),),
    }
    fields.update(changes)
    return RawMessage(**fields)  # type: ignore[arg-type]


def consumer(
    registry: InMemoryRegistry,
    source: FakeSource,
    handler: FakeHandler,
    dlq: FakeDeadLetters,
    processed: FakeProcessedEvents | None = None,
) -> EventConsumer[UserEvent, set[uuid.UUID]]:
    decoder: RecordDeserializer[UserEvent] = RecordDeserializer(
        registry, [UserRegistered, UserUpdated]
    )
    return EventConsumer(
        source,
        decoder,
        handler,
        dlq,
        ConsumerMetrics(TOPIC),
        processed=processed or FakeProcessedEvents(),
        batch_size=100,
        backoff=NO_WAIT,
    )


def test_offsets_are_committed_after_the_apply_and_past_the_batch(registry: Unreachable) -> None:
    user = uuid.uuid4()
    messages = [message(registry, registered(user)), message(registry, updated(user, 2, "B"))]
    source, handler = FakeSource(messages), FakeHandler()
    handler.log = source.log
    report = consumer(registry, source, handler, FakeDeadLetters()).run_once()
    assert report.applied == 2
    assert source.log == ["apply", "commit"]
    assert source.committed == [Position(TOPIC, 0, messages[-1].offset + 1)]


def test_poison_messages_are_parked_and_the_rest_applied(registry: Unreachable) -> None:
    good, other = registered(uuid.uuid4()), registered(uuid.uuid4())
    unknown_id = header(999_999) + b"\x00"
    poison = [
        message(registry, other, value=b"garbage"),  # not wire format
        message(registry, other, value=unknown_id),  # unknown schema id
        message(registry, other, value=message(registry, other).value[: HEADER_SIZE + 3]),  # type: ignore[index]
        message(registry, other, key=b"not-the-user"),  # fails validation
        message(registry, other, headers=(("event_id", b"another id"),)),  # header contradicts
        message(registry, other, value=None),  # a null value
    ]
    last = registered(uuid.uuid4())  # poison is parked once a good message follows it
    batch = [poison[0], message(registry, good), *poison[1:], message(registry, last)]
    source = FakeSource(batch)
    handler, dlq = FakeHandler(), FakeDeadLetters()
    report = consumer(registry, source, handler, dlq).run_once()
    assert handler.applied == [good.event_id, last.event_id]
    assert [letter.kind for letter in dlq.parked] == [
        "undecodable",
        "unknown_schema",
        "undecodable",
        "invalid",
        "invalid",
        "undecodable",
    ]
    assert [letter.message for letter in dlq.parked] == poison
    assert all(letter.reason for letter in dlq.parked)
    assert len(report.dead_lettered) == 6
    assert source.committed == [Position(TOPIC, 0, max(m.offset for m in batch) + 1)]


def test_a_record_type_the_consumer_does_not_read_is_skipped_and_counted(
    registry: Unreachable,
) -> None:
    from support.user_events import deleted  # noqa: PLC0415

    user = uuid.uuid4()
    source = FakeSource([message(registry, deleted(user, 2)), message(registry, registered(user))])
    handler, dlq = FakeHandler(), FakeDeadLetters()
    loop = consumer(registry, source, handler, dlq)
    report = loop.run_once()
    assert (report.unhandled, report.applied, dlq.parked) == (1, 1, [])
    assert source.committed  # skipped messages are committed past, not retried


def test_registry_down_rewinds_the_batch_and_parks_nothing(registry: Unreachable) -> None:
    event = registered(uuid.uuid4())
    source, handler, dlq = FakeSource([message(registry, event)]), FakeHandler(), FakeDeadLetters()
    registry.down = True
    loop = consumer(registry, source, handler, dlq)
    assert loop.run_once().retried
    assert (source.rewound, source.committed, dlq.parked, handler.applied) == (1, [], [], [])
    registry.down = False
    assert loop.run_once().applied == 1
    assert handler.applied == [event.event_id]


def test_database_down_rewinds_then_applies_once(registry: Unreachable) -> None:
    event = registered(uuid.uuid4())
    source, handler = FakeSource([message(registry, event)]), FakeHandler()
    handler.transient_failures = 2
    loop = consumer(registry, source, handler, FakeDeadLetters())
    assert [loop.run_once().retried for _ in range(3)] == [True, True, False]
    assert handler.applied == [event.event_id]


def test_dead_letter_topic_down_is_transient(registry: Unreachable) -> None:
    event = registered(uuid.uuid4())
    source = FakeSource([message(registry, event, value=b"junk"), message(registry, event)])
    handler, dlq = FakeHandler(), FakeDeadLetters()
    dlq.failures_left = 1
    loop = consumer(registry, source, handler, dlq)
    assert loop.run_once().retried and not source.committed
    assert not loop.run_once().retried
    assert len(dlq.parked) == 1
    assert handler.applied == [event.event_id]  # applied on the first try, then a duplicate


def test_an_event_the_database_refuses_is_parked_alone(registry: Unreachable) -> None:
    events = [registered(uuid.uuid4()) for _ in range(3)]
    source, handler, dlq = (
        FakeSource([message(registry, e) for e in events]),
        FakeHandler(),
        FakeDeadLetters(),
    )
    handler.refuse = {events[1].event_id}
    report = consumer(registry, source, handler, dlq).run_once()
    assert handler.applied == [events[0].event_id, events[2].event_id]
    assert [(d.kind, d.message.key) for d in dlq.parked] == [
        ("apply_failed", str(events[1].user_id).encode())
    ]
    assert report.applied == 2


def test_redelivered_batch_is_counted_as_duplicates(registry: Unreachable) -> None:
    messages = [message(registry, registered(uuid.uuid4())) for _ in range(3)]
    handler, processed = FakeHandler(), FakeProcessedEvents()
    consumer(registry, FakeSource(messages), handler, FakeDeadLetters(), processed).run_once()
    again = consumer(registry, FakeSource(messages), handler, FakeDeadLetters(), processed)
    report = again.run_once()
    assert (report.applied, report.duplicates) == (0, 3)
    assert len(handler.applied) == 3  # the handler never saw the duplicates


def test_a_repeat_inside_a_batch_is_claimed_once_and_never_reaches_the_handler(
    registry: Unreachable,
) -> None:
    event = registered(uuid.uuid4())
    copy = message(registry, event)
    handler, processed = FakeHandler(), FakeProcessedEvents()
    source = FakeSource([copy, message(registry, event)])
    report = consumer(registry, source, handler, FakeDeadLetters(), processed).run_once()
    assert (report.applied, report.duplicates) == (1, 1)
    assert handler.applied == [event.event_id]
    assert processed.ids == {event.event_id}


def test_stop_finishes_the_batch_and_closes(registry: Unreachable) -> None:
    source = FakeSource([message(registry, registered(uuid.uuid4())) for _ in range(5)])
    handler = FakeHandler()
    loop = consumer(registry, source, handler, FakeDeadLetters())
    original = handler.apply

    def apply_then_stop(events, tx):  # type: ignore[no-untyped-def]
        loop.stop()  # SIGTERM arriving mid-batch
        return original(events, tx)

    handler.apply = apply_then_stop  # type: ignore[method-assign]
    loop.run()
    assert len(handler.applied) == 5 and source.committed and source.closed


def test_metrics_count_what_happened(registry: Unreachable) -> None:
    event = registered(uuid.uuid4())
    messages = [message(registry, event, value=b"junk"), message(registry, event)]
    metrics = ConsumerMetrics(TOPIC)
    decoder: RecordDeserializer[UserEvent] = RecordDeserializer(registry, [UserRegistered])
    handler, processed = FakeHandler(), FakeProcessedEvents()
    loop = EventConsumer(
        FakeSource(messages), decoder, handler, FakeDeadLetters(), metrics, processed=processed
    )
    loop.run_once()
    EventConsumer(
        FakeSource(messages[1:]), decoder, handler, FakeDeadLetters(), metrics, processed=processed
    ).run_once()
    assert metrics.value("playball_consumer_applied_events_total") == 1
    assert metrics.value("playball_consumer_duplicates_skipped_total") == 1
    assert metrics.value("playball_consumer_dead_lettered_total", kind="undecodable") == 1
    assert metrics.value("playball_consumer_apply_latency_seconds_count") == 1
