"""The consumer loop: poll a batch, decode, apply in one transaction, park poison, commit.

Each batch's event ids are claimed (:class:`~.ports.ProcessedEvents`) in the transaction
that applies the fresh ones, and offsets move only after it committed, so a crash in
between redelivers the batch and the claim turns it into duplicates. A dependency
that is down (registry, database, dead-letter topic) is never a reason to park a message:
the batch is rewound and retried with backoff until it comes back or the loop is stopped
(:mod:`.transient`, and the handler's ``is_transient`` for the database). Poison is
parked once a good message follows it in its partition; a run of
``max_consecutive_poison`` stops the loop instead (:mod:`.poison_runs`).

For erasure (docs/privacy.md): messages keyed ``_playball/`` (roll markers) are skipped,
neither applied nor parked; an event the handler calls an erasure (a user's deletion)
tombstones its key on the dead-letter topic, after the batch's letters are parked; and
when given a :class:`~playball_events.roll_markers.RollMarking`, the loop keeps the
dead-letter topic's partitions rolling.
"""

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol

from playball_core.registry import UnknownSchemaIdError

from playball_events.consumer.idempotent import apply_once
from playball_events.consumer.letter_limits import preview
from playball_events.consumer.metrics import ConsumerMetrics
from playball_events.consumer.poison_runs import (
    DEFAULT_MAX_CONSECUTIVE_POISON,
    MessageKey,
    PoisonRun,
    PoisonRunLimitError,
    PoisonRuns,
    message_key,
)
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
from playball_events.consumer.transient import is_transient_decode_error
from playball_events.lifecycle import Backoff, Lifecycle, Stoppable
from playball_events.redaction import redact
from playball_events.roll_markers import RollMarking, is_control_key
from playball_events.serde_errors import (
    ForeignSchemaError,
    SerdeError,
    UnhandledRecordTypeError,
)
from playball_events.terminal_text import escape_controls

log = logging.getLogger(__name__)

EVENT_ID_HEADER = "event_id"
RETRY_BACKOFF = Backoff(first=0.2, limit=5.0)  # a failed batch's retries: 0.2 s doubling to 5 s


class Decoder(Protocol[E]):  # type: ignore[misc]
    def deserialize(self, data: bytes) -> E: ...


@dataclass(frozen=True, slots=True)
class Refused:
    """Why a message is poison: its dead letter's kind and reason."""

    kind: str
    reason: str


@dataclass(slots=True)
class BatchReport:
    """What one pass of the loop did; tests and the benchmark read it."""

    messages: int = 0
    applied: int = 0
    duplicates: int = 0
    stale: int = 0
    unhandled: int = 0
    dead_lettered: list[DeadLetter] = field(default_factory=list)  # parked by this batch
    stubs: int = 0  # of those, parked as stubs (too large for the dead-letter topic)
    held: int = 0  # poison of this batch in an open run: not parked, not committed past
    markers: int = 0  # control messages (roll markers) skipped
    erased: int = 0  # keys tombstoned on the dead-letter topic (erasures)
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
        max_consecutive_poison: int = DEFAULT_MAX_CONSECUTIVE_POISON,
        on_applied: Callable[[ApplyOutcome[E]], None] | None = None,
        on_close: Sequence[Callable[[], None]] = (),
        marking: RollMarking | None = None,
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
        self._runs = PoisonRuns(max_consecutive_poison)
        self._marking = marking  # roll markers on the dead-letter topic, when due

    def run(self) -> None:
        """Until :meth:`stop`; raises :class:`~.poison_runs.PoisonRunLimitError` (after
        closing) when a run of poison reaches the limit."""
        self._lifecycle.run(self.run_once, self.close)

    def close(self) -> None:
        """Leave the consumer group (every applied batch is committed already)."""
        try:
            self._source.close()
        finally:
            for close in self._on_close:
                close()

    def run_once(self) -> BatchReport:
        """One poll and everything it brought, committed; or rewound after a backoff.

        Raises :class:`~.poison_runs.PoisonRunLimitError` once the batch is committed
        when it completed a run of ``max_consecutive_poison`` poison messages.
        """
        if self._marking is not None:
            self._marking.tick()  # never raises: a failed round is logged and retried
        messages = self._source.poll_batch(self._batch_size, self._poll_timeout)
        self._runs.forget(self._source.revoked())
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
        poison: dict[MessageKey, DeadLetter] = {}
        for message in messages:
            if is_control_key(message.key):  # a roll marker: no event, no poison
                report.markers += 1
                continue
            decoded = self._decode(message, poison, report)
            if decoded is not None:
                events.append(decoded)
        outcome: ApplyOutcome[E] = self._apply(events, poison) if events else ApplyOutcome()
        # Planned on the final verdicts (an event the database refuses is poison too), so
        # the whole batch is applied first; what the plan then does not commit (past an
        # open run) comes back later as duplicates.
        plan = self._runs.plan(messages, poison)
        # Parked after the apply: a database that fails the batch (rewound and retried)
        # then leaves no second copy of the poison on the dead-letter topic.
        if plan.park:
            report.stubs = self._park(plan.park)
        # After the letters: a letter parked in this batch is then erased with its key's.
        report.erased = self._erase(events, poison)
        report.dead_lettered = plan.park
        report.held = plan.held
        report.applied = len(outcome.applied)
        report.duplicates = len(outcome.duplicates)
        report.stale = len(outcome.stale)
        if self._on_applied is not None:
            self._on_applied(outcome)
        self._commit(plan.commits)
        if plan.seeks:
            self._source.seek(plan.seeks)
        self._runs.accept(plan)
        self._metrics.batch_done(outcome, plan.park, dt.datetime.now(dt.UTC))
        self._metrics.stubbed(report.stubs)
        self._metrics.held(sum(run.count for run in self._runs.open_runs()))
        for run in plan.open:
            log.warning(
                "holding %s: parked once a good message follows, the consumer stops at %d",
                escape_controls(str(run)),  # reasons quote what a producer sent
                self._runs.limit,
            )
        if plan.stopped is not None:
            self._stop_for(plan.stopped)

    def _stop_for(self, run: PoisonRun) -> None:
        error = PoisonRunLimitError(run, self._runs.limit)
        log.error(
            "stopping: %d consecutive poison messages in %s[%d], first offset %d, last "
            "offset %d, first reason [%s] %s; nothing of the run parked, committed up to "
            "offset %d",
            run.count,
            run.topic,
            run.partition,
            run.first_offset,
            run.last_offset,
            run.first_kind,
            escape_controls(run.first_reason),
            run.first_offset,
        )
        raise error

    def _decode(
        self, message: RawMessage, poison: dict[MessageKey, DeadLetter], report: BatchReport
    ) -> ConsumedEvent[E] | None:
        """The message's event; None when it is poison (recorded in ``poison``) or skipped."""
        # Per message, so kept flat: no closure, one lookup of the header.
        value = message.value
        if value is None:
            refused = Refused("undecodable", "message has no value (a null / tombstone message)")
        else:
            decoded = self._deserialize(value, report)
            if decoded is None:
                return None
            if not isinstance(decoded, Refused):
                event = ConsumedEvent(decoded, message)
                reason = self._invalid_reason(event)
                if reason is None:
                    return event
                decoded = Refused("invalid", reason)
            refused = decoded
        _poison(message, refused.kind, refused.reason, poison)
        return None

    def _deserialize(self, value: bytes, report: BatchReport) -> "E | Refused | None":
        """The record, why it is poison, or None for a record type this consumer skips."""
        try:
            return self._decoder.deserialize(value)
        except UnhandledRecordTypeError as exc:
            # a valid record of a type this consumer has no use for: skip, count, go on
            report.unhandled += 1
            self._metrics.unhandled(exc.record_type)
            return None
        except ForeignSchemaError as exc:
            return Refused("foreign_schema", str(exc))
        except SerdeError as exc:
            return Refused("undecodable", f"{type(exc).__name__}: {exc}")
        except UnknownSchemaIdError as exc:
            return Refused("unknown_schema", str(exc))
        except Exception as exc:
            if is_transient_decode_error(exc):
                raise TransientError(f"schema registry: {exc}") from exc
            # the registry's final answers (a 404 of a wrong URL, a body that is not JSON)
            # and anything else: the stop rule catches a fault that hits every message
            return Refused("undecodable", f"{type(exc).__name__}: {exc}")

    def _invalid_reason(self, event: ConsumedEvent[E]) -> str | None:
        # A reason becomes a dead letter's header and a log line: it must not quote a value
        # of a field tagged PII, whatever the handler (or its exception) wrote.
        try:
            reason = _header_mismatch(event) or self._handler.invalid_reason(event)
        except Exception as exc:
            if self._handler.is_transient(exc):
                raise TransientError(redact(f"validating: {exc}", [event.record])) from exc
            reason = f"validation failed: {type(exc).__name__}: {exc}"
        return None if reason is None else redact(reason, [event.record])

    def _park(self, letters: Sequence[DeadLetter]) -> int:
        try:
            stubs = self._dead_letters.park(letters)
        except Exception as exc:
            # Never a message's fault (one too large is parked as a stub): the broker or
            # the topic is unavailable, so the batch is retried after a backoff.
            raise TransientError(f"dead-letter topic: {exc}") from exc
        for letter in letters:
            log.error(
                "parked %s[%d]@%d (%s): %s",
                letter.message.topic,
                letter.message.partition,
                letter.message.offset,
                letter.kind,
                escape_controls(letter.reason),
            )
        return stubs

    def _erase(
        self, events: Sequence[ConsumedEvent[E]], poison: dict[MessageKey, DeadLetter]
    ) -> int:
        """Tombstone the keys of the batch's erasures on the dead-letter topic.

        Every erasure that is not poison, applied, duplicate or stale alike: a redelivered
        deletion (a crash after the database commit) writes its tombstone again.
        """
        erasures = [
            event.message
            for event in events
            if message_key(event.message) not in poison and self._handler.is_erasure(event)
        ]
        if not erasures:
            return 0
        try:
            self._dead_letters.erase(erasures)
        except Exception as exc:
            # the broker or the topic is unavailable: retried with the batch, like a park
            raise TransientError(f"dead-letter topic (erasure): {exc}") from exc
        return len(erasures)

    def _apply(
        self, events: Sequence[ConsumedEvent[E]], poison: dict[MessageKey, DeadLetter]
    ) -> ApplyOutcome[E]:
        try:
            return apply_once(self._processed, self._handler, events)
        except Exception as exc:
            records = [event.record for event in events]
            if self._handler.is_transient(exc):
                raise TransientError(redact(f"applying the batch: {exc}", records)) from exc
            log.warning(
                "batch of %d failed (%s); applying one by one",
                len(events),
                redact(str(exc), records),
            )
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
                    raise TransientError(
                        redact(f"applying an event: {exc}", [event.record])
                    ) from exc
                reason = redact(f"apply failed: {type(exc).__name__}: {exc}", [event.record])
                _poison(event.message, "apply_failed", reason, poison)
                continue
            applied.extend(single.applied)
            duplicates.extend(single.duplicates)
            stale.extend(single.stale)
        return ApplyOutcome(applied=applied, duplicates=duplicates, stale=stale)

    def _commit(self, positions: Sequence[Position]) -> None:
        if not positions:
            return
        try:
            self._source.commit(positions)
        except Exception as exc:
            # Applied already; a lost commit only means a redelivery the dedup absorbs.
            log.warning("offset commit failed (redelivery will be deduplicated): %s", exc)
            self._metrics.commit_failed()


def _poison(
    message: RawMessage, kind: str, reason: str, poison: dict[MessageKey, DeadLetter]
) -> None:
    poison[message_key(message)] = DeadLetter(message=message, reason=reason, kind=kind)


def _header_mismatch(event: ConsumedEvent[E]) -> str | None:
    """A message whose event_id header contradicts its body was not written by one producer."""
    header = event.message.header(EVENT_ID_HEADER)
    # bytes against the UUID's canonical text: no decode on the common (equal) path
    if header is not None and header != str(event.record.event_id).encode():
        return (
            f"event_id header {preview(header)} differs from the record's event_id {event.event_id}"
        )
    return None
