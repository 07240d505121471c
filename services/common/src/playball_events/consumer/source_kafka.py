"""The consumer's Kafka side: a confluent-kafka consumer group (the dead-letter producer is
:mod:`.dead_letters_kafka`).

Offsets are never stored automatically (``enable.auto.offset.store=false``):
:meth:`KafkaSource.commit` stores them after the handler's database commit, and
librdkafka's background thread commits what is stored every ``auto.commit.interval.ms``,
so a batch costs no broker request of its own (at a steady trickle of events every poll
is a batch, and a commit per batch doubled the broker's requests). What is committed is
therefore always applied; a crash redelivers at most one interval of applied messages,
which the processed-events table turns into duplicates. The loop is single-threaded and
stores each batch before it polls again, so when a rebalance revokes partitions (inside a
poll) the previous batch is already stored; ``on_revoke`` commits it synchronously
before the partitions go, and so does :meth:`KafkaSource.close`. A poll that a revocation
interrupts keeps only messages of partitions still assigned (see
:meth:`KafkaSource.poll_batch`).
"""

import logging
import time
from collections.abc import Sequence
from typing import Any

from confluent_kafka import (
    OFFSET_INVALID,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    TopicPartition,
)

from playball_events.consumer.ports import (
    MessageSource,
    Position,
    RawMessage,
)
from playball_events.kafka_errors_kafka import secured_config
from playball_events.kafka_security import KafkaSecurity

log = logging.getLogger(__name__)

LAG_INTERVAL = 2.0  # seconds between lag measurements
COMMITTED_TIMEOUT = 2.0  # seconds for the rare committed-offset query of a lag measurement
COMMIT_INTERVAL_MS = 500  # how often librdkafka commits the stored (applied) offsets

# Keys the service must not override: they are what makes the consumer idempotent.
FIXED_CONFIG = {
    # stored only by KafkaSource.commit, after the database commit; the timer commits
    # nothing else
    "enable.auto.offset.store": False,
    "enable.auto.commit": True,
    # cooperative-sticky with manual commits has open librdkafka bugs (#4059, #3337)
    "partition.assignment.strategy": "range,roundrobin",
}


def consumer_config(bootstrap: str, group_id: str, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "group.id": group_id,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 50,
        "queued.min.messages": 10000,
        "auto.commit.interval.ms": COMMIT_INTERVAL_MS,
        # Nagle is on by default in librdkafka: a fetch sent while a commit or heartbeat is
        # unacknowledged would wait for the broker's delayed ACK
        "socket.nagle.disable": True,
    }
    config.update(overrides)
    config.update(FIXED_CONFIG)
    return config


def raw_message(message: Any) -> RawMessage:
    headers = message.headers()
    kind, timestamp = message.timestamp()
    # positional: built once per message on the consumer's hot path
    return RawMessage(
        message.topic(),
        message.partition(),
        message.offset(),
        message.key(),
        message.value(),
        tuple(headers) if headers else (),
        None if kind == TIMESTAMP_NOT_AVAILABLE else timestamp,
    )


class KafkaSource(MessageSource):
    def __init__(
        self,
        config: dict[str, Any],
        topics: Sequence[str],
        *,
        security: KafkaSecurity | None = None,
    ) -> None:
        self._consumer = Consumer(secured_config(config, security))
        self._done: dict[tuple[str, int], int] = {}  # next offset to apply, per partition
        self._revocations = 0  # revokes and losses so far: tells a poll a rebalance cut it
        self._revoked: set[tuple[str, int]] = set()  # since the loop last asked (revoked())
        self._lag: int | None = None
        self._lag_at = 0.0
        self._consumer.subscribe(list(topics), on_revoke=self._on_revoke, on_lost=self._on_lost)

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        self._revocations += 1
        self._revoked.update((tp.topic, tp.partition) for tp in partitions)
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                log.warning("commit on revoke failed: %s", exc)
        for tp in partitions:
            self._done.pop((tp.topic, tp.partition), None)

    def _on_lost(self, _consumer: Any, partitions: list[Any]) -> None:
        self._revocations += 1
        self._revoked.update((tp.topic, tp.partition) for tp in partitions)
        for tp in partitions:
            self._done.pop((tp.topic, tp.partition), None)

    def poll_batch(self, max_messages: int, timeout: float) -> list[RawMessage]:
        # consume(n, t) blocks until n messages arrived or t elapsed, so on a quiet topic
        # one event would wait the whole timeout. Wait for the first message only, then
        # take whatever else is already fetched without waiting.
        first = self._consumer.consume(1, timeout)
        revocations = self._revocations
        rest = self._consumer.consume(max_messages - 1, 0) if first and max_messages > 1 else []
        messages = [*first, *rest]
        if self._revocations != revocations:
            messages = self._still_assigned(messages)
        batch: list[RawMessage] = []
        for message in messages:
            error = message.error()
            if error is None:
                batch.append(raw_message(message))
            elif error.code() != KafkaError._PARTITION_EOF:
                # broker-side errors are retried inside librdkafka; log, don't die
                log.warning("consume error: %s", error)
        return batch

    def _still_assigned(self, messages: list[Any]) -> list[Any]:
        """The messages of partitions this member still owns, after a rebalance mid-poll.

        The second ``consume`` of a poll can serve a rebalance after it, or the first
        call, collected messages: librdkafka returns them although their partitions are
        revoked. Their new owner reads them again from the committed offset, so applying
        them here would race it (two transactions on the same users) and commit offsets
        of partitions this member no longer owns, which can move the group's committed
        offset back behind the new owner's. Messages of a partition assigned again are
        kept: fetching restarts at its committed offset, so any copy read before the
        revoke only comes back as a duplicate.
        """
        owned = {(tp.topic, tp.partition) for tp in self._consumer.assignment()}
        kept = [m for m in messages if (m.topic(), m.partition()) in owned]
        if len(kept) != len(messages):
            log.info(
                "dropped %d polled messages of partitions revoked meanwhile (their new "
                "owner reads them)",
                len(messages) - len(kept),
            )
        return kept

    def commit(self, positions: Sequence[Position]) -> None:
        """Mark the batch done: its offsets are stored, for the next timed commit.

        No broker round trip: the batch's effect is already durable in the database, and
        a commit that a crash loses means a redelivery the processed-events table turns
        into duplicates. A revoke and :meth:`close` commit synchronously.
        """
        offsets = [TopicPartition(p.topic, p.partition, p.offset) for p in positions]
        self._consumer.store_offsets(offsets=offsets)
        for p in positions:
            self._done[(p.topic, p.partition)] = p.offset

    def rewind(self, messages: Sequence[RawMessage]) -> None:
        firsts: dict[tuple[str, int], int] = {}
        for m in messages:
            key = (m.topic, m.partition)
            firsts[key] = min(firsts.get(key, m.offset), m.offset)
        self.seek([Position(t, p, offset) for (t, p), offset in firsts.items()])

    def seek(self, positions: Sequence[Position]) -> None:
        for position in positions:
            try:
                self._consumer.seek(
                    TopicPartition(position.topic, position.partition, position.offset)
                )
            except KafkaException as exc:  # revoked meanwhile: its new owner reads it
                log.warning(
                    "seek of %s[%d] to %d failed: %s",
                    position.topic,
                    position.partition,
                    position.offset,
                    exc,
                )

    def revoked(self) -> set[tuple[str, int]]:
        found, self._revoked = self._revoked, set()
        return found

    def lag(self) -> int | None:
        now = time.monotonic()
        if now - self._lag_at >= LAG_INTERVAL:
            self._lag_at = now
            self._lag = self._measure_lag()
        return self._lag

    def _measure_lag(self) -> int | None:
        assignment = self._consumer.assignment()
        if not assignment:
            return 0
        total = 0
        try:
            positions = self._consumer.position(assignment)
            for tp in positions:
                # cached: the high watermark of the last fetch response, no broker call
                low, high = self._consumer.get_watermark_offsets(tp, cached=True)
                done = self._done.get((tp.topic, tp.partition))
                if done is None:
                    done = tp.offset if tp.offset != OFFSET_INVALID else None
                if done is None and high > low:
                    done = self._group_offset(tp.topic, tp.partition)
                if done is None:
                    done = low
                total += max(0, high - done)
        except KafkaException:
            return None
        return total

    def _group_offset(self, topic: str, partition: int) -> int | None:
        """The group's committed offset of a partition this member has read nothing of.

        Without it, a partition taken over after its previous owner finished it (nothing
        left to read, so no position) counted from its low watermark: the gauge showed
        the whole partition as lag until a new message arrived. Remembered like one of
        our own commits, until the partition is revoked; None when nothing is committed.
        """
        [found] = self._consumer.committed(
            [TopicPartition(topic, partition)], timeout=COMMITTED_TIMEOUT
        )
        if found.offset < 0:
            return None
        self._done[(topic, partition)] = found.offset
        return int(found.offset)

    def close(self) -> None:
        try:
            self._consumer.commit(asynchronous=False)  # what was stored since the last timer
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                log.warning("commit on close failed: %s", exc)
        self._consumer.close()
