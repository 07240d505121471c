"""KafkaDeadLetters around a stand-in for confluent-kafka's Producer: letters too large for
the dead-letter topic become stubs, a batch the broker refuses as a whole is sorted out
letter by letter, and any other failure raises (the loop retries it)."""

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from playball_events.consumer import dead_letters_kafka
from playball_events.consumer.dead_letter import parse_parked
from playball_events.consumer.dead_letters_kafka import KafkaDeadLetters
from playball_events.consumer.ports import DeadLetter, RawMessage
from playball_events.consumer.redrive_checks import RedriveRefusedError, redrive_target

LIMIT = 1000  # the stand-in broker's max.message.bytes for the dead-letter topic


class Sent:
    def __init__(self, topic: str, key: bytes | None, value: bytes | None, headers: Any) -> None:
        self.topic, self.key, self.value = topic, key, value
        self.headers = [(k, v if isinstance(v, bytes) else str(v).encode()) for k, v in headers]

    @property
    def size(self) -> int:
        return len(self.key or b"") + len(self.value or b"") + sum(len(v) for _, v in self.headers)


class StandInProducer:
    """Queues messages; ``flush`` delivers them as one batch, refused whole when any is too
    large (as the broker does); ``local_limit`` is librdkafka's own synchronous check."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.queued: list[tuple[Sent, Callable[[Any, Any], None]]] = []
        self.delivered: list[Sent] = []
        self.local_limit = 10**9
        self.other_error: KafkaError | None = None

    def produce(self, topic: str, **kwargs: Any) -> None:
        sent = Sent(topic, kwargs["key"], kwargs["value"], kwargs["headers"])
        if sent.size > self.local_limit:
            raise KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
        self.queued.append((sent, kwargs["on_delivery"]))

    def flush(self, _timeout: float) -> int:
        batch, self.queued = self.queued, []
        refused = any(sent.size > LIMIT for sent, _ in batch)
        for sent, callback in batch:
            if self.other_error is not None:
                callback(self.other_error, None)
            elif refused:
                callback(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), None)
            else:
                self.delivered.append(sent)
                callback(None, None)
        return 0


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> tuple[KafkaDeadLetters, StandInProducer]:
    made: list[StandInProducer] = []

    def make(config: dict[str, Any]) -> StandInProducer:
        made.append(StandInProducer(config))
        return made[-1]

    monkeypatch.setattr(dead_letters_kafka, "Producer", make)
    sink = KafkaDeadLetters("127.0.0.1:1", max_message_bytes=2_000_000)
    return sink, made[0]


def letter(offset: int, value_size: int, key: bytes = b"user-1") -> DeadLetter:
    message = RawMessage("events", 3, offset, key, b"v" * value_size, (("event_id", b"e"),))
    return DeadLetter(message, "undecodable body", "undecodable")


def test_the_producer_takes_64_kib_more_than_the_topic() -> None:
    config = dead_letters_kafka.dead_letter_producer_config("b:1", 1_048_576)
    assert config["message.max.bytes"] == 1_048_576 + 65_536


def test_a_letter_that_fits_is_parked_whole(
    sink: tuple[KafkaDeadLetters, StandInProducer],
) -> None:
    dead_letters, producer = sink
    assert dead_letters.park([letter(1, 10), letter(2, 10)]) == 0
    assert [s.value for s in producer.delivered] == [b"v" * 10] * 2
    assert {s.topic for s in producer.delivered} == {"events.dlq"}


def test_in_a_refused_batch_only_the_letter_too_large_alone_becomes_a_stub(
    sink: tuple[KafkaDeadLetters, StandInProducer],
) -> None:
    dead_letters, producer = sink
    assert dead_letters.park([letter(1, 10), letter(2, 5000), letter(3, 10)]) == 1
    whole = [s for s in producer.delivered if s.value]
    [stub] = [s for s in producer.delivered if not s.value]
    assert sorted(parse_parked(raw(s)).source_offset for s in whole) == [1, 3]
    parked = parse_parked(raw(stub))
    assert (parked.stub, parked.source_topic, parked.source_partition, parked.source_offset) == (
        True,
        "events",
        3,
        2,
    )
    assert stub.value == b""  # not None: a null value is a tombstone on the compacted topic
    assert stub.key == b"user-1"
    assert dict(stub.headers)["dlq.value_length"] == b"5000"
    assert parked.reason.startswith("stub: the letter was too large to park")
    assert parked.original_headers == ()
    assert not parked.malformed
    with pytest.raises(RedriveRefusedError, match=r"offset 0 .*it is a stub"):
        redrive_target([parked], "events.dlq")


def test_a_letter_over_the_producers_own_limit_becomes_a_stub_with_a_hashed_large_key(
    sink: tuple[KafkaDeadLetters, StandInProducer],
) -> None:
    dead_letters, producer = sink
    producer.local_limit = 900
    key = b"k" * 300_000
    assert dead_letters.park([letter(7, 10, key=key)]) == 1
    [stub] = producer.delivered
    assert stub.key == b"sha256:" + hashlib.sha256(key).hexdigest().encode()


def test_any_other_failure_raises_for_the_loop_to_retry(
    sink: tuple[KafkaDeadLetters, StandInProducer],
) -> None:
    dead_letters, producer = sink
    producer.other_error = KafkaError(KafkaError._MSG_TIMED_OUT)
    with pytest.raises(RuntimeError, match="dead-letter produce failed"):
        dead_letters.park([letter(1, 10)])


def raw(sent: Sent) -> RawMessage:
    return RawMessage(sent.topic, 0, 0, sent.key, sent.value, tuple(sent.headers))
