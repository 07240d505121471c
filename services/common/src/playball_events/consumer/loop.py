"""The consumer loop: poll a batch, decode, park poison, apply in one transaction, commit.

Each batch's event ids are claimed (:class:`~.ports.ProcessedEvents`) in the transaction
that applies the fresh ones, and offsets move only after it committed, so a crash in
between redelivers the batch and the claim turns it into duplicates. A dependency
that is down (registry, database, dead-letter topic) is never a reason to park a message:
the batch is rewound and retried with backoff until it comes back or the loop is stopped.
"""

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol

from playball_core.registry import (
    RegistryResponseError,
    RegistryUnreachableError,
    UnknownSchemaIdError,
)

from playball_events.consumer.idempotent import apply_once
from playball_events.consumer.metrics import ConsumerMetrics
from playball_events.consumer.ports import (
    ApplyOutcome,
    ConsumedEvent,
    DeadLetter,
    DeadLetterSink,
    E,
    EventHandler,
    MessageSource,
    Position,
    ProcessedEvents,
    RawMessage,
    TransientError,
    Tx,
)
from playball_events.lifecycle import Backoff, Lifecycle, Stoppable
from playball_events.serde_errors import SerdeError, UnhandledRecordTypeError

log = logging.getLogger(__name__)

EVENT_ID_HEADER = "event_id"
RETRY_BACKOFF = Backoff(first=0.2, limit=5.0)  # a failed batch's retries: 0.2 s doubling to 5 s


class Decoder(Protocol[E]):  # type: ignore[misc]
    def deserialize(self, data: bytes) -> E: ...


@dataclass(slots=True)
class BatchReport:
    """What one pass of the loop did; tests and the benchmark read it."""

    messages: int = 0
    applied: int = 0
    duplicates: int = 0
    stale: int = 0
    unhandled: int = 0
    dead_lettered: list[DeadLetter] = field(default_factory=list)
    retried: bool = False


class EventConsumer(Stoppable, Generic[E, Tx]):
    """Runs a service's :class:`EventHandler` over a topic, idempotently."""

    def __init__(
        self,
        source: MessageSource,
        decoder: Decoder[E],
        handler: EventHandler[E, Tx],
        dead_letters: DeadLetterSink,
        metrics: ConsumerMetrics,
        *,
        processed: ProcessedEvents[Tx],
        batch_size: int = 5000,
        poll_timeout: float = 1.0,
        backoff: Backoff = RETRY_BACKOFF,
        on_applied: Callable[[ApplyOutcome[E]], None] | None = None,
        on_close: Sequence[Callable[[], None]] = (),
    ) -> None:
        self._source = source
        self._decoder = decoder
        self._handler = handler
        self._processed = processed
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._batch_size = batch_size
        self._poll_timeout = poll_timeout
        # Called after the handler's commit and before the offset commit: the one moment a
        # crash leaves applied-but-uncommitted messages (fault tests kill the process here).
        self._on_applied = on_applied
        self._on_close = on_close  # the registry client's connections, say
        self._lifecycle = Lifecycle(backoff)

    def run(self) -> None:
        self._lifecycle.run(self.run_once, self.close)

    def close(self) -> None:
        """Leave the consumer group (every applied batch is committed already)."""
        try:
            self._source.close()
        finally:
            for close in self._on_close:
                close()

    def run_once(self) -> BatchReport:
        """One poll and everything it brought, committed; or rewound after a backoff."""
        messages = self._source.poll_batch(self._batch_size, self._poll_timeout)
        self._metrics.polled(self._source.lag())
        report = BatchReport(messages=len(messages))
        if not messages:
            return report
        try:
            self._process(messages, report)
        except TransientError as exc:
            delay = self._lifecycle.failed()
            log.warning("batch of %d not applied, retrying in %.1fs: %s", len(messages), delay, exc)
            self._metrics.retried()
            self._source.rewind(messages)
            self._lifecycle.pause(delay)
            return BatchReport(messages=len(messages), retried=True)
        self._lifecycle.succeeded()
        return report

    def _process(self, messages: Sequence[RawMessage], report: BatchReport) -> None:
        events: list[ConsumedEvent[E]] = []
        poison: list[DeadLetter] = []
        for message in messages:
            decoded = self._decode(message, poison, report)
            if decoded is not None:
                events.append(decoded)
        outcome: ApplyOutcome[E] = self._apply(events, report) if events else ApplyOutcome()
        # Parked after the apply: a database that fails the batch (rewound and retried)
        # then leaves no second copy of the poison on the dead-letter topic.
        if poison:
            self._park(poison)
        report.applied = len(outcome.applied)
        report.duplicates = len(outcome.duplicates)
        report.stale = len(outcome.stale)
        if self._on_applied is not None:
            self._on_applied(outcome)
        self._commit(messages)
        self._metrics.batch_done(outcome, report.dead_lettered, dt.datetime.now(dt.UTC))

    def _decode(
        self, message: RawMessage, poison: list[DeadLetter], report: BatchReport
    ) -> ConsumedEvent[E] | None:
        # Per message, so kept flat: no closure, one lookup of the header.
        value = message.value
        if value is None:
            return self._poison(
                message,
                "undecodable",
                "message has no value (a null / tombstone message)",
                poison,
                report,
            )
        try:
            record = self._decoder.deserialize(value)
        except (RegistryUnreachableError, RegistryResponseError) as exc:
            raise TransientError(f"schema registry: {exc}") from exc
        except UnknownSchemaIdError as exc:
            return self._poison(message, "unknown_schema", str(exc), poison, report)
        except UnhandledRecordTypeError as exc:
            # a valid record of a type this consumer has no use for: skip, count, go on
            report.unhandled += 1
            self._metrics.unhandled(exc.record_type)
            return None
        except SerdeError as exc:
            return self._poison(
                message, "undecodable", f"{type(exc).__name__}: {exc}", poison, report
            )
        event = ConsumedEvent(record, message)
        reason = _header_mismatch(event) or self._handler.invalid_reason(event)
        if reason is not None:
            return self._poison(message, "invalid", reason, poison, report)
        return event

    @staticmethod
    def _poison(
        message: RawMessage,
        kind: str,
        reason: str,
        poison: list[DeadLetter],
        report: BatchReport,
    ) -> None:
        letter = DeadLetter(message=message, reason=reason, kind=kind)
        poison.append(letter)
        report.dead_lettered.append(letter)

    def _park(self, letters: Sequence[DeadLetter]) -> None:
        try:
            self._dead_letters.park(letters)
        except Exception as exc:
            raise TransientError(f"dead-letter topic: {exc}") from exc
        for letter in letters:
            log.error(
                "parked %s[%d]@%d (%s): %s",
                letter.message.topic,
                letter.message.partition,
                letter.message.offset,
                letter.kind,
                letter.reason,
            )

    def _apply(self, events: Sequence[ConsumedEvent[E]], report: BatchReport) -> ApplyOutcome[E]:
        try:
            return apply_once(self._processed, self._handler, events)
        except Exception as exc:
            if self._handler.is_transient(exc):
                raise TransientError(f"applying the batch: {exc}") from exc
            log.warning("batch of %d failed (%s); applying one by one", len(events), exc)
        # One event the database refuses must not stall the others: apply them singly and
        # park only the ones that fail on their own.
        applied: list[ConsumedEvent[E]] = []
        duplicates: list[ConsumedEvent[E]] = []
        stale: list[ConsumedEvent[E]] = []
        for event in events:
            try:
                single = apply_once(self._processed, self._handler, [event])
            except Exception as exc:
                if self._handler.is_transient(exc):
                    raise TransientError(f"applying an event: {exc}") from exc
                letter = DeadLetter(
                    message=event.message,
                    reason=f"apply failed: {type(exc).__name__}: {exc}",
                    kind="apply_failed",
                )
                self._park([letter])
                report.dead_lettered.append(letter)
                continue
            applied.extend(single.applied)
            duplicates.extend(single.duplicates)
            stale.extend(single.stale)
        return ApplyOutcome(applied=applied, duplicates=duplicates, stale=stale)

    def _commit(self, messages: Sequence[RawMessage]) -> None:
        ends: dict[tuple[str, int], int] = {}
        for message in messages:
            key = (message.topic, message.partition)
            ends[key] = max(ends.get(key, -1), message.offset + 1)
        positions = [Position(t, p, offset) for (t, p), offset in ends.items()]
        try:
            self._source.commit(positions)
        except Exception as exc:
            # Applied already; a lost commit only means a redelivery the dedup absorbs.
            log.warning("offset commit failed (redelivery will be deduplicated): %s", exc)
            self._metrics.commit_failed()


def _header_mismatch(event: ConsumedEvent[E]) -> str | None:
    """A message whose event_id header contradicts its body was not written by one producer."""
    header = event.message.header(EVENT_ID_HEADER)
    # bytes against the UUID's canonical text: no decode on the common (equal) path
    if header is not None and header != str(event.record.event_id).encode():
        return (
            f"event_id header {header.decode(errors='replace')!r} differs from the record's "
            f"event_id {event.event_id}"
        )
    return None
