"""The relay's Kafka producer: idempotent, acks=all, one report per message.

Delivery reports only fire from ``poll()``/``flush()``: :meth:`send` produces a whole
batch, and its :class:`PendingDeliveries` polls until every message of it has its
report. The idempotent producer keeps each partition's order across its internal
retries, which is what keeps a user's events in order within a batch. A message that
times out (``_MSG_TIMED_OUT``) may have been written anyway: it is reported as possibly
persisted, retried and counted, and the consumer drops the duplicate by event id.

A producer whose every delivery timed out for :data:`STALE_AFTER` batches in a row is
replaced by a new one at the next send. Seen after a broker restart (a relay feeding the
producer without pause through the outage): the old producer kept timing out every
message for minutes while a new one, in another process, delivered at once. During a real
outage the new producer times out like the old, and costs one connection attempt.
"""

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from playball_events.kafka_errors_kafka import ClientErrors, await_metadata, secured_config
from playball_events.kafka_security import KafkaSecurity
from playball_events.outbox.ports import (
    Deliveries,
    Delivery,
    DeliveryOutcome,
    EventPublisher,
    OutgoingMessage,
    PendingDeliveries,
)
from playball_events.roll_markers_kafka import KafkaRollMarkers

log = logging.getLogger(__name__)

# Errors no retry can fix: the message itself is refused.
_REFUSED = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.INVALID_RECORD,
        KafkaError.RECORD_LIST_TOO_LARGE,
        KafkaError._INVALID_ARG,
        KafkaError.INVALID_MSG,
        KafkaError.INVALID_MSG_SIZE,
    }
)
# How long a send's wait() goes on past the delivery timeout, for the last reports.
_REPORT_GRACE = 5.0
# Batches in a row whose every delivery timed out, before the producer is replaced
STALE_AFTER = 3


def producer_config(
    bootstrap: str, *, delivery_timeout_ms: int = 30_000, linger_ms: int = 1, **extra: Any
) -> dict[str, Any]:
    """The settings the relay and its benchmarks produce with."""
    return {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": "lz4",
        "linger.ms": linger_ms,
        # Every message gets a report by then: acked, or failed (possibly persisted).
        "message.timeout.ms": delivery_timeout_ms,
        "queue.buffering.max.messages": 200_000,
        "batch.num.messages": 10_000,
        # librdkafka leaves Nagle on (the Java client never does): a small request sent
        # while an earlier one is unacknowledged waits for the peer's delayed ACK
        "socket.nagle.disable": True,
        **extra,
    }


def outcome_of(error: KafkaError) -> DeliveryOutcome:
    code = error.code()
    if code == KafkaError._MSG_TIMED_OUT:
        return DeliveryOutcome.POSSIBLY_PERSISTED
    if code in _REFUSED:
        return DeliveryOutcome.FATAL
    return DeliveryOutcome.RETRIABLE


class _BatchReports:
    """The delivery reports of one batch, as they come: one callback for all of its
    messages (a closure made per message cost the relay more than the produce call did,
    scripts/bench_relay.py). An acked message needs no finding; a failed one is found by
    its key and value when the batch is settled (the client's report of a failed message
    carries no headers)."""

    __slots__ = ("failures", "latencies", "on_fatal")

    def __init__(self, on_fatal: Callable[[], None]) -> None:
        self.latencies: list[float] = []
        self.failures: list[tuple[KafkaError, bytes | None, bytes | None]] = []
        self.on_fatal = on_fatal

    def report(self, error: KafkaError | None, message: Any) -> None:
        if error is None:
            self.latencies.append(message.latency())
            return
        if error.fatal():
            self.on_fatal()
        self.failures.append((error, message.key(), message.value()))

    def reported(self) -> int:
        return len(self.latencies) + len(self.failures)


_UNREPORTED = Delivery(DeliveryOutcome.POSSIBLY_PERSISTED, "no delivery report before deadline")
_UNPLACED = Delivery(
    DeliveryOutcome.POSSIBLY_PERSISTED, "a delivery of the batch failed, which one is not known"
)


class _KafkaPending(PendingDeliveries):
    def __init__(
        self,
        producer: Producer,
        messages: Sequence[OutgoingMessage],
        reports: _BatchReports,
        refused: dict[int, Delivery],
        *,
        deadline: float,
        settled: Callable[[Deliveries], None],
    ) -> None:
        self._producer = producer
        self._messages = messages
        self._reports = reports
        self._refused = refused  # by position: what produce() itself refused
        self._deadline = deadline
        self._settled = settled

    def wait(self) -> Deliveries:
        # poll(), not flush(): flush would also wait for batches produced after this one.
        reports, expected = self._reports, len(self._messages) - len(self._refused)
        while reports.reported() < expected and time.monotonic() < self._deadline:
            self._producer.poll(min(0.1, max(0.0, self._deadline - time.monotonic())))
        failed = self._refused
        if reports.failures:
            failed = {**failed, **self._failed_positions(reports.failures)}
        if reports.reported() < expected:
            # Past the deadline (the client reports every message by its delivery
            # timeout, so a client gone wrong): which of the unreported ones were acked
            # is not known one by one, so each is taken as possibly persisted, sent
            # again, and dropped as a duplicate by the consumer.
            failed = {p: failed.get(p, _UNREPORTED) for p in range(len(self._messages))}
            reports.latencies.clear()
        deliveries = Deliveries(len(self._messages), failed, reports.latencies)
        self._settled(deliveries)
        return deliveries

    def _failed_positions(
        self, failures: list[tuple[KafkaError, bytes | None, bytes | None]]
    ) -> dict[int, Delivery]:
        """The failed reports, by their messages' positions in the batch: the first not
        yet placed of the same key and value (the same bytes: whichever of them goes again,
        the same message does). A report matching none (never seen) leaves every message
        not placed unknown, so none of them counts as acked: possibly persisted, sent again."""
        positions: dict[tuple[bytes, bytes], list[int]] = {}
        for position, message in enumerate(self._messages):
            if position not in self._refused:
                positions.setdefault((message.key, message.value), []).append(position)
        failed: dict[int, Delivery] = {}
        for error, key, value in failures:
            found = positions.get((key or b"", value or b""))
            if not found:
                left = (p for unplaced in positions.values() for p in unplaced)
                return failed | dict.fromkeys(left, _UNPLACED)
            failed[found.pop(0)] = Delivery(outcome_of(error), error.str())
        return failed


class KafkaEventPublisher(EventPublisher):
    def __init__(
        self,
        bootstrap: str,
        *,
        delivery_timeout_ms: int = 30_000,
        linger_ms: int = 1,
        extra: dict[str, Any] | None = None,
        security: KafkaSecurity | None = None,
    ) -> None:
        self._config = secured_config(
            producer_config(
                bootstrap,
                delivery_timeout_ms=delivery_timeout_ms,
                linger_ms=linger_ms,
                **(extra or {}),
            ),
            security,
        )
        self._bootstrap = bootstrap
        self._report_wait = delivery_timeout_ms / 1000 + _REPORT_GRACE
        self._producer = Producer(self._config)
        self._fatal = False
        self._timed_out_batches = 0  # in a row, every delivery timed out

    def check_credentials(self, timeout: float = 5.0) -> None:
        """Wait for the brokers' metadata, so that a refused credential ends a relay at start,
        not at its first event (an idle relay never polls). A broker that is down or slow
        is no reason to wait: the relay delivers once it answers."""
        errors = self._config["error_cb"]
        assert isinstance(errors, ClientErrors)
        try:
            await_metadata(self._producer, timeout, give_up=lambda: errors.brokers_down)
        except KafkaException as exc:
            log.warning("no Kafka broker answered at %s yet (%s)", self._bootstrap, exc)

    def send(self, messages: Sequence[OutgoingMessage]) -> PendingDeliveries:
        if self._fatal:  # idempotence state lost (KIP-360 cases): start a new session
            self._recreate("producer hit a fatal error")
        elif self._timed_out_batches >= STALE_AFTER:
            batches = self._timed_out_batches
            self._recreate(f"every delivery of the last {batches} batches timed out")
        reports = _BatchReports(self._set_fatal)
        report = reports.report  # the same callback for each message: bound once
        refused: dict[int, Delivery] = {}
        produce = self._producer.produce  # once per event: bound once
        for position, message in enumerate(messages):
            # the client takes a list (or a dict), not any sequence: copied only if need be
            headers: list[tuple[str, str | bytes | None]] = (
                message.headers if type(message.headers) is list else list(message.headers)
            )
            while True:
                try:
                    # by position (topic, value, key, partition, on_delivery): parsing
                    # keywords costs the client more, once per event
                    produce(message.topic, message.value, message.key, -1, report, None, 0, headers)
                    break
                except BufferError:  # local queue full: serve reports, then go on
                    self._producer.poll(0.05)
                except KafkaException as exc:
                    error = exc.args[0]
                    refused[position] = Delivery(outcome_of(error), error.str())
                    break
        self._producer.poll(0)  # serve the reports already in, without waiting
        return _KafkaPending(
            self._producer,
            messages,
            reports,
            refused,
            deadline=time.monotonic() + self._report_wait,
            settled=self._count_timeouts,
        )

    def _set_fatal(self) -> None:
        self._fatal = True

    def _count_timeouts(self, deliveries: Deliveries) -> None:
        timed_out = (
            deliveries.count > 0
            and len(deliveries.failed) == deliveries.count
            and all(
                d.outcome is DeliveryOutcome.POSSIBLY_PERSISTED for d in deliveries.failed.values()
            )
        )
        self._timed_out_batches = self._timed_out_batches + 1 if timed_out else 0

    def roll_markers(self, topics: Sequence[str]) -> KafkaRollMarkers:
        """Roll markers on ``topics``, written through this publisher's producer."""
        return KafkaRollMarkers(lambda: self._producer, topics)

    def _recreate(self, why: str) -> None:
        log.warning("%s; starting a new producer session", why)
        self._producer.flush(self._report_wait)
        self._producer = Producer(self._config)
        self._fatal = False
        self._timed_out_batches = 0

    def close(self) -> None:
        remaining = self._producer.flush(self._report_wait)
        if remaining:
            log.warning("%d messages still in flight at close", remaining)
