"""The loop against fakes: the stop rule, what is transient, foreign schemas, bounded letters."""

import io
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fastavro
import pytest
from playball_core.registry import InMemoryRegistry, RegistryClient, SchemaRegistry
from playball_events.consumer.loop import BatchReport, EventConsumer
from playball_events.consumer.metrics import ConsumerMetrics
from playball_events.consumer.poison_runs import PoisonRunLimitError
from playball_events.consumer.ports import RawMessage
from playball_events.contracts import UserRegistered, UserUpdated
from playball_events.lifecycle import Backoff
from playball_events.serde import RecordDeserializer, RecordSerializer, header
from support.user_events import registered

from consumer.fakes import FakeDeadLetters, FakeHandler, FakeProcessedEvents, FakeSource, UserEvent

TOPIC = "events"
NO_WAIT = Backoff(first=0.0, limit=0.0)


@pytest.fixture
def registry() -> InMemoryRegistry:
    registry = InMemoryRegistry()
    serializer = RecordSerializer(registry, TOPIC)
    for cls in (UserRegistered, UserUpdated):
        registry.register(serializer.subject(cls), json.dumps(cls.avro_schema()))
    return registry


def good(registry: SchemaRegistry, offset: int) -> RawMessage:
    event = registered(uuid.uuid4())
    value = RecordSerializer(registry, TOPIC).serialize(event)
    headers = (("event_id", str(event.event_id).encode()),)
    return RawMessage(TOPIC, 0, offset, str(event.user_id).encode(), value, headers)


def junk(offset: int) -> RawMessage:
    return RawMessage(TOPIC, 0, offset, b"forged", b"\x07not avro")


def stream(registry: SchemaRegistry, shape: str) -> list[RawMessage]:
    """One message per character, from offset 0 of partition 0: ``g`` good, ``p`` poison."""
    return [good(registry, n) if c == "g" else junk(n) for n, c in enumerate(shape)]


def loop(
    registry: SchemaRegistry,
    source: FakeSource,
    dlq: FakeDeadLetters,
    *,
    limit: int = 5,
    batch: int = 100,
    handler: FakeHandler | None = None,
    processed: FakeProcessedEvents | None = None,
    metrics: ConsumerMetrics | None = None,
) -> EventConsumer[UserEvent, set[uuid.UUID]]:
    decoder: RecordDeserializer[UserEvent] = RecordDeserializer(
        registry, [UserRegistered, UserUpdated], topic=TOPIC
    )
    return EventConsumer(
        source,
        decoder,
        handler or FakeHandler(),
        dlq,
        metrics or ConsumerMetrics(TOPIC),
        processed=processed or FakeProcessedEvents(),
        batch_size=batch,
        backoff=NO_WAIT,
        max_consecutive_poison=limit,
    )


def drain(consumer: EventConsumer[UserEvent, set[uuid.UUID]], source: FakeSource) -> None:
    for _ in range(50):  # each pass takes a batch; far more passes than any test needs
        if not source.pending:
            return
        consumer.run_once()
    pytest.fail(f"still pending: {source.pending}")


def test_the_limit_stops_parking_nothing_and_committing_up_to_the_last_good_then_again(
    registry: InMemoryRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    messages = stream(registry, "ggg" + "p" * 5 + "gg")
    source, dlq, processed = FakeSource(messages), FakeDeadLetters(), FakeProcessedEvents()
    with caplog.at_level(logging.ERROR), pytest.raises(PoisonRunLimitError) as stopped:
        loop(registry, source, dlq, processed=processed).run()
    run = stopped.value.run
    assert (run.first_offset, run.last_offset, run.count) == (3, 7, 5)
    assert run.first_reason.startswith("UnknownMagicByteError")
    assert source.committed_offset(TOPIC, 0) == 3  # the last good one is 2
    assert dlq.parked == []
    assert source.closed
    [logged] = [r.getMessage() for r in caplog.records if "stopping" in r.getMessage()]
    assert "first offset 3" in logged and "last offset 7" in logged
    assert "UnknownMagicByteError" in logged

    # restarted: it reads again from the committed offset and stops at the same place
    again = FakeSource(messages[3:])
    with pytest.raises(PoisonRunLimitError) as second:
        loop(registry, again, dlq, processed=processed).run()
    assert second.value.run == run
    assert again.committed_offset(TOPIC, 0) is None  # nothing new to commit
    assert dlq.parked == []


def test_a_run_across_batches_is_parked_once_when_a_good_message_ends_it(
    registry: InMemoryRegistry,
) -> None:
    messages = stream(registry, "gpppgp")
    source, dlq, handler = FakeSource(messages), FakeDeadLetters(), FakeHandler()
    metrics = ConsumerMetrics(TOPIC)
    consumer = loop(registry, source, dlq, batch=2, handler=handler, metrics=metrics)
    reports: list[BatchReport] = []
    for _ in range(2):
        reports.append(consumer.run_once())
    assert [r.held for r in reports] == [1, 2]  # held, not parked, while the run is open
    assert metrics.value("playball_consumer_poison_held") == 3
    assert source.committed_offset(TOPIC, 0) == 1
    drain(consumer, source)
    assert [letter.message.offset for letter in dlq.parked] == [1, 2, 3]  # once each
    assert handler.applied == [  # the good message after the run: applied once
        uuid.UUID(m.headers[0][1].decode()) for m in (messages[0], messages[4])
    ]
    assert source.committed_offset(TOPIC, 0) == 5  # the last poison is held again
    assert metrics.value("playball_consumer_poison_held") == 1
    assert metrics.value("playball_consumer_dead_lettered_total", kind="undecodable") == 3


def test_events_the_database_refuses_count_toward_the_run(registry: InMemoryRegistry) -> None:
    messages = stream(registry, "ggggg")
    handler = FakeHandler()
    handler.refuse = {uuid.UUID(m.headers[0][1].decode()) for m in messages[1:]}
    source, dlq = FakeSource(messages), FakeDeadLetters()
    with pytest.raises(PoisonRunLimitError) as stopped:
        loop(registry, source, dlq, limit=4, handler=handler).run()
    assert stopped.value.run.first_kind == "apply_failed"
    assert (stopped.value.run.first_offset, dlq.parked) == (1, [])
    assert source.committed_offset(TOPIC, 0) == 1


def test_a_revoked_partition_read_again_by_this_member_starts_its_run_afresh(
    registry: InMemoryRegistry,
) -> None:
    messages = stream(registry, "gppg")
    source, dlq = FakeSource(messages[:3]), FakeDeadLetters()
    consumer = loop(registry, source, dlq)
    assert consumer.run_once().held == 2
    # a rebalance gives the partition back: read again from the committed offset, 1
    source.revoke_next = {(TOPIC, 0)}
    source.add([*messages[1:3], messages[3]])
    consumer.run_once()
    assert [letter.message.offset for letter in dlq.parked] == [1, 2]
    assert source.seeks == []


class Registry503:
    """A loopback HTTP server answering every request with ``status`` (a registry in trouble)."""

    def __init__(self) -> None:
        self.status = 503
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps({"error_code": outer.status, "message": "unavailable"})
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def troubled_registry() -> Iterator[Registry503]:
    found = Registry503()
    found.thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


@pytest.mark.parametrize("status", [503, 500, 429])
def test_a_registry_answering_503_or_429_is_transient_retried_never_parked(
    registry: InMemoryRegistry, troubled_registry: Registry503, status: int
) -> None:
    troubled_registry.status = status
    message = good(registry, 0)  # its schema id is fetched from the troubled registry
    source, dlq = FakeSource([message, good(registry, 1)]), FakeDeadLetters()
    with RegistryClient(troubled_registry.url) as client:
        consumer = loop(client, source, dlq, limit=1)
        reports = [consumer.run_once() for _ in range(3)]
    assert all(r.retried for r in reports)
    assert (dlq.parked, source.committed, source.rewound) == ([], [], 3)


def test_a_registry_answering_404_without_its_error_code_is_poison(
    registry: InMemoryRegistry, troubled_registry: Registry503
) -> None:
    troubled_registry.status = 404  # a wrong URL: no registry error code in the answer
    with RegistryClient(troubled_registry.url) as client:
        consumer = loop(client, FakeSource([good(registry, 0)]), FakeDeadLetters(), limit=1)
        with pytest.raises(PoisonRunLimitError) as stopped:
            consumer.run_once()
    assert "HTTP 404" in stopped.value.run.first_reason


def test_a_schema_id_registered_only_under_another_topics_subject_is_foreign(
    registry: InMemoryRegistry,
) -> None:
    newer = UserRegistered.avro_schema()
    newer["fields"].append({"name": "note", "type": "string", "default": ""})
    schema_id = registry.register("other-playball.auth.v1.UserRegistered", json.dumps(newer))
    event = registered(uuid.uuid4())
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(newer), {**event.to_avro(), "note": ""})
    forged = RawMessage(
        TOPIC, 0, 0, str(event.user_id).encode(), header(schema_id) + body.getvalue()
    )
    source, dlq = FakeSource([forged, good(registry, 1)]), FakeDeadLetters()
    loop(registry, source, dlq).run_once()
    [letter] = dlq.parked
    assert letter.kind == "foreign_schema"
    assert f"not registered under subject '{TOPIC}-playball.auth.v1.UserRegistered'" in (
        letter.reason
    )


def test_a_letter_too_large_for_the_dead_letter_topic_is_counted_as_a_stub(
    registry: InMemoryRegistry,
) -> None:
    source, dlq = FakeSource(stream(registry, "pg")), FakeDeadLetters()
    dlq.too_large = {0}
    metrics = ConsumerMetrics(TOPIC)
    report = loop(registry, source, dlq, metrics=metrics).run_once()
    assert (report.stubs, len(report.dead_lettered)) == (1, 1)
    assert metrics.value("playball_consumer_dlq_stubs_total") == 1


def test_a_huge_header_or_key_never_makes_a_huge_reason(registry: InMemoryRegistry) -> None:
    forged = good(registry, 0)
    huge = RawMessage(TOPIC, 0, 0, b"k" * 300_000, forged.value, (("event_id", b"y" * 300_000),))
    source, dlq = FakeSource([huge, good(registry, 1)]), FakeDeadLetters()
    loop(registry, source, dlq).run_once()
    [letter] = dlq.parked
    assert len(letter.reason.encode()) <= 1024
    assert "(300000 bytes)" in letter.reason


def test_a_validation_that_raises_is_poison_not_a_crash(registry: InMemoryRegistry) -> None:
    handler = FakeHandler()

    def broken(_event: object) -> str | None:
        raise ValueError("validator bug")

    handler.invalid_reason = broken  # type: ignore[method-assign, assignment]
    source, dlq = FakeSource(stream(registry, "g")), FakeDeadLetters()
    with pytest.raises(PoisonRunLimitError) as stopped:
        loop(registry, source, dlq, limit=1, handler=handler).run_once()
    assert stopped.value.run.first_reason == "validation failed: ValueError: validator bug"
