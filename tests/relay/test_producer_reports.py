"""How the relay's producer reads a batch's delivery reports (playball_events.outbox.
producer_kafka): acked messages are only counted, failed ones found by key and value
(the client's report of a failed message carries no headers).
The client is a scripted stand-in, so each outcome is chosen; the real client's
reports are exercised against the broker by the relay and security suites."""

from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from playball_events.outbox.ports import DeliveryOutcome, OutgoingMessage
from playball_events.outbox.producer_kafka import KafkaEventPublisher


class ScriptedMessage:
    """A reported message as the client gives it: key and value, no headers."""

    def __init__(self, key: bytes, value: bytes) -> None:
        self._key = key
        self._value = value

    def key(self) -> bytes:
        return self._key

    def value(self) -> bytes:
        return self._value

    def headers(self) -> None:
        return None

    def latency(self) -> float:
        return 0.002


class ScriptedClient:
    """Takes messages like the client, reports each at the next poll as scripted by its
    event id: an error code, or acked when none is given."""

    def __init__(self, outcomes: dict[bytes, int], *, refuse: bytes | None = None) -> None:
        self.outcomes = outcomes
        self.refuse = refuse
        self.queued: list[tuple[Callable[[Any, Any], None], bytes, bytes, bytes]] = []
        self.report_at_all = True
        self.garbled = False  # report failures of messages never produced

    def produce(self, _topic: str, value: bytes, key: bytes, _partition: int,
                on_delivery: Callable[[Any, Any], None], _alias: None, _timestamp: int,
                headers: list[tuple[str, bytes]]) -> None:  # fmt: skip
        event_id = dict(headers)["event_id"]
        if event_id == self.refuse:
            raise KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
        self.queued.append((on_delivery, event_id, key, value))

    def poll(self, _timeout: float) -> int:
        if not self.report_at_all:
            return 0
        served, self.queued = self.queued, []
        for callback, event_id, key, value in reversed(served):  # in no set order
            code = self.outcomes.get(event_id)
            reported = ScriptedMessage(key, b"garbled" if self.garbled and code else value)
            callback(None if code is None else KafkaError(code), reported)
        return len(served)

    def flush(self, _timeout: float) -> int:
        return 0


# the client's own log of its failed connections to the port nothing listens on: silenced
QUIET = {"log_level": 0}


def message(event_id: bytes, *, value: bytes | None = None) -> OutgoingMessage:
    """A message of user-1's (a user's events share the key)."""
    return OutgoingMessage("t", b"user-1", value or b"of " + event_id, [("event_id", event_id)])


@pytest.fixture
def publisher() -> KafkaEventPublisher:
    # nothing listens there, and the scripted client replaces the real one before any send
    return KafkaEventPublisher("127.0.0.1:9", delivery_timeout_ms=200, extra=QUIET)


def scripted(publisher: KafkaEventPublisher, client: ScriptedClient) -> None:
    """The publisher's client replaced by ``client``, before any send."""
    publisher._producer = client  # type: ignore[assignment]


def test_an_acked_batch_is_counted_whole_with_each_latency(
    publisher: KafkaEventPublisher,
) -> None:
    scripted(publisher, ScriptedClient({}))
    deliveries = publisher.send([message(b"a"), message(b"b"), message(b"c")]).wait()
    assert deliveries.count == 3
    assert deliveries.failed == {}
    assert deliveries.latencies == [0.002] * 3


def test_failed_reports_are_placed_by_their_message_whatever_their_order(
    publisher: KafkaEventPublisher,
) -> None:
    scripted(
        publisher,
        ScriptedClient(
            {b"b": KafkaError._MSG_TIMED_OUT, b"d": KafkaError.INVALID_RECORD}, refuse=b"c"
        ),
    )
    batch = [message(b"a"), message(b"b"), message(b"c"), message(b"d"), message(b"e")]
    deliveries = publisher.send(batch).wait()
    assert deliveries.count == 5
    assert {p: d.outcome for p, d in deliveries.failed.items()} == {
        1: DeliveryOutcome.POSSIBLY_PERSISTED,  # timed out after the send
        2: DeliveryOutcome.FATAL,  # refused by produce() itself
        3: DeliveryOutcome.FATAL,  # refused by the broker
    }
    assert len(deliveries.latencies) == 2  # a and e


def test_a_batch_unreported_by_the_deadline_is_possibly_persisted_whole(
    publisher: KafkaEventPublisher,
) -> None:
    client = ScriptedClient({})
    client.report_at_all = False
    scripted(publisher, client)
    publisher._report_wait = 0.05
    deliveries = publisher.send([message(b"a"), message(b"b")]).wait()
    assert sorted(deliveries.failed) == [0, 1]
    assert {d.outcome for d in deliveries.failed.values()} == {DeliveryOutcome.POSSIBLY_PERSISTED}
    assert deliveries.latencies == []


def test_failures_of_messages_alike_are_placed_one_each(
    publisher: KafkaEventPublisher,
) -> None:
    scripted(
        publisher,
        ScriptedClient({b"b": KafkaError._MSG_TIMED_OUT, b"c": KafkaError._MSG_TIMED_OUT}),
    )
    # a, b and c the same bytes: whichever two are sent again, the same message goes
    batch = [message(e, value=b"same") for e in (b"a", b"b", b"c")] + [message(b"d")]
    deliveries = publisher.send(batch).wait()
    assert len(deliveries.failed) == 2
    assert set(deliveries.failed) < {0, 1, 2}
    assert len(deliveries.latencies) == 2


def test_a_failure_that_matches_no_message_leaves_none_not_placed_counted_as_acked(
    publisher: KafkaEventPublisher,
) -> None:
    client = ScriptedClient({b"b": KafkaError._MSG_TIMED_OUT})
    client.garbled = True
    scripted(publisher, client)
    deliveries = publisher.send([message(b"a"), message(b"b"), message(b"c")]).wait()
    # which one failed is not known: every one is sent again (duplicates, never a loss)
    assert sorted(deliveries.failed) == [0, 1, 2]
    assert {d.outcome for d in deliveries.failed.values()} == {DeliveryOutcome.POSSIBLY_PERSISTED}
