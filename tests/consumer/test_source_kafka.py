"""KafkaSource around a stand-in for confluent-kafka's Consumer: what a poll returns when a
rebalance is served in the middle of it (the real client does that, see poll_batch), and
the lag of partitions this member has read nothing of."""

from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import (
    OFFSET_INVALID,
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_NOT_AVAILABLE,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from playball_events.consumer import source_kafka
from playball_events.consumer.source_kafka import KafkaSource

TOPIC = "events"


class Message:
    def __init__(self, partition: int, offset: int, timestamp: tuple[int, int] = (1, 0)) -> None:
        self._partition, self._offset = partition, offset
        self._timestamp = timestamp

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return b"v"

    def headers(self) -> None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return self._timestamp

    def error(self) -> None:
        return None


Call = Callable[["StandInConsumer"], list[Message]]


class StandInConsumer:
    """Plays a script: each ``consume`` call runs the next step (messages, rebalance callbacks)."""

    def __init__(self, _config: dict[str, Any]) -> None:
        self.assigned: set[int] = set()
        self.script: list[Call] = []
        self.on_revoke: Callable[[Any, list[TopicPartition]], None] | None = None
        self.on_lost: Callable[[Any, list[TopicPartition]], None] | None = None
        self.assignment_calls = 0
        self.commits = 0
        self.positions: dict[int, int] = {}  # partition -> next offset the app reads
        self.watermarks: dict[int, tuple[int, int]] = {}
        self.group_offsets: dict[int, int] = {}  # what the group committed (broker side)
        self.committed_queries = 0

    def subscribe(self, _topics: list[str], **callbacks: Any) -> None:
        self.on_revoke, self.on_lost = callbacks["on_revoke"], callbacks["on_lost"]

    def consume(self, _num_messages: int, _timeout: float) -> list[Message]:
        return self.script.pop(0)(self) if self.script else []

    def assignment(self) -> list[TopicPartition]:
        self.assignment_calls += 1
        return [TopicPartition(TOPIC, p) for p in sorted(self.assigned)]

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return [
            TopicPartition(tp.topic, tp.partition, self.positions.get(tp.partition, OFFSET_INVALID))
            for tp in partitions
        ]

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool) -> tuple[int, int]:
        assert cached, "the lag gauge must not cost a broker round trip per partition"
        return self.watermarks.get(tp.partition, (0, 0))

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        assert timeout > 0
        self.committed_queries += 1
        return [
            TopicPartition(tp.topic, tp.partition, self.group_offsets.get(tp.partition, -1001))
            for tp in partitions
        ]

    def commit(self, **_kwargs: Any) -> None:
        self.commits += 1
        raise KafkaException(KafkaError(KafkaError._NO_OFFSET))

    def rebalance(self, callback: str, now_assigned: set[int]) -> None:
        """Revoke (or lose) every partition, as the eager protocol does, then assign some."""
        gone = [TopicPartition(TOPIC, p) for p in sorted(self.assigned)]
        handler = self.on_revoke if callback == "revoke" else self.on_lost
        assert handler is not None
        handler(self, gone)
        self.assigned = now_assigned


def source_with(monkeypatch: pytest.MonkeyPatch, assigned: set[int]) -> tuple[KafkaSource, Any]:
    made: list[StandInConsumer] = []

    def make(config: dict[str, Any]) -> StandInConsumer:
        made.append(StandInConsumer(config))
        return made[-1]

    monkeypatch.setattr(source_kafka, "Consumer", make)
    source = KafkaSource({}, [TOPIC])
    [stand_in] = made
    stand_in.assigned = set(assigned)
    return source, stand_in


def positions(batch: list[Any]) -> list[tuple[int, int]]:
    return [(m.partition, m.offset) for m in batch]


def test_a_message_keeps_its_kafka_timestamp_when_it_has_one() -> None:
    created = source_kafka.raw_message(Message(0, 7, (TIMESTAMP_CREATE_TIME, 1_700_000_000_123)))
    assert created.timestamp_ms == 1_700_000_000_123
    untimed = source_kafka.raw_message(Message(0, 8, (TIMESTAMP_NOT_AVAILABLE, 0)))
    assert untimed.timestamp_ms is None


def test_a_poll_without_rebalance_returns_everything_without_asking_for_the_assignment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, kafka = source_with(monkeypatch, {0, 1})
    kafka.script = [lambda _c: [Message(0, 5)], lambda _c: [Message(0, 6), Message(1, 3)]]
    assert positions(source.poll_batch(100, 1.0)) == [(0, 5), (0, 6), (1, 3)]
    assert kafka.assignment_calls == 0


@pytest.mark.parametrize("callback", ["revoke", "lost"])
def test_messages_of_partitions_revoked_during_the_poll_are_not_returned(
    monkeypatch: pytest.MonkeyPatch, callback: str
) -> None:
    source, kafka = source_with(monkeypatch, {0, 1, 2})

    def collected_then_rebalanced(c: StandInConsumer) -> list[Message]:
        # messages gathered before the rebalance op, returned after it was served
        c.rebalance(callback, now_assigned=set())
        return [Message(0, 6), Message(1, 3)]

    kafka.script = [lambda _c: [Message(0, 5)], collected_then_rebalanced]
    assert source.poll_batch(100, 1.0) == []


def test_messages_of_partitions_assigned_again_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    source, kafka = source_with(monkeypatch, {0, 1, 2})

    def reassigned_in_the_same_call(c: StandInConsumer) -> list[Message]:
        c.rebalance("revoke", now_assigned={1, 4})
        return [Message(0, 6), Message(1, 3), Message(4, 9)]

    kafka.script = [lambda _c: [Message(0, 5)], reassigned_in_the_same_call]
    assert positions(source.poll_batch(100, 1.0)) == [(1, 3), (4, 9)]


def test_a_rebalance_inside_the_first_call_keeps_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """consume(1) serves a rebalance before it takes a message: the message is the new owner's."""
    source, kafka = source_with(monkeypatch, {0, 1, 2})

    def rebalanced_then_one(c: StandInConsumer) -> list[Message]:
        c.rebalance("revoke", now_assigned={3})
        return [Message(3, 0)]

    kafka.script = [rebalanced_then_one, lambda _c: [Message(3, 1)]]
    assert positions(source.poll_batch(100, 1.0)) == [(3, 0), (3, 1)]
    assert kafka.assignment_calls == 0


def test_lag_counts_from_the_position_and_from_the_group_offset_of_untouched_partitions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, kafka = source_with(monkeypatch, {0, 1, 2, 3})
    kafka.watermarks = {0: (0, 100), 1: (0, 100), 2: (10, 100), 3: (0, 0)}
    kafka.positions = {0: 40}  # read up to 40 here
    kafka.group_offsets = {1: 100}  # taken over after its previous owner finished it
    # 2: nothing committed ever: counts from the low watermark; 3: empty
    assert source.lag() == 60 + 0 + 90 + 0
    assert kafka.committed_queries == 2  # only the partitions with no position and messages


def test_a_taken_over_partition_asks_the_group_offset_once_until_it_is_revoked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, kafka = source_with(monkeypatch, {1})
    kafka.watermarks = {1: (0, 100)}
    kafka.group_offsets = {1: 100}
    monkeypatch.setattr(source_kafka, "LAG_INTERVAL", 0.0)
    assert (source.lag(), source.lag()) == (0, 0)
    assert kafka.committed_queries == 1
    kafka.rebalance("revoke", now_assigned={1})
    kafka.group_offsets = {1: 70}  # someone else held it meanwhile and committed less
    assert source.lag() == 30


def test_revoked_and_lost_partitions_are_told_to_the_loop_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, kafka = source_with(monkeypatch, {0, 1})
    kafka.rebalance("revoke", now_assigned={1})
    kafka.rebalance("lost", now_assigned=set())
    assert source.revoked() == {(TOPIC, 0), (TOPIC, 1)}
    assert source.revoked() == set()


def test_overrides_cannot_turn_the_idempotence_keys_back_and_nagle_is_off() -> None:
    config = source_kafka.consumer_config(
        "127.0.0.1:1",
        "g",
        **{"enable.auto.offset.store": True, "fetch.wait.max.ms": 5},
    )
    assert config["enable.auto.offset.store"] is False  # offsets stored only after commit
    assert config["fetch.wait.max.ms"] == 5  # everything else can be tuned
    assert config["socket.nagle.disable"] is True
