"""A dead letter's reason and the consumer's log lines never show a field tagged PII.

The handler here is careless on purpose: its reasons and exceptions quote the record (its
repr) and its display name. The loop takes the record's personal values out of every such
text before it parks a letter or logs a line.
"""

import logging
import uuid
from collections.abc import Sequence

import pytest
from playball_events.consumer.ports import ApplyOutcome, ConsumedEvent, TransientError
from playball_events.contracts import UserDeleted
from playball_events.redaction import REDACTED
from support.user_events import registered

from consumer.fakes import FakeDeadLetters, FakeHandler, FakeSource, UserEvent
from consumer.test_loop import Unreachable, consumer, message, registry  # noqa: F401 - fixture

NAME = "Qx9 Personal Name"


class QuotingHandler(FakeHandler):
    """Quotes what it should not: ``mode`` says where."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def invalid_reason(self, event: ConsumedEvent[UserEvent]) -> str | None:
        record = event.record
        if isinstance(record, UserDeleted) or record.display_name != NAME:
            return None
        if self.mode == "reason":
            return f"display name {record.display_name!r} is not allowed ({record})"
        if self.mode == "validation":
            msg = f"cannot check {record.display_name}"
            raise ValueError(msg)
        return None

    def apply(
        self, fresh: Sequence[ConsumedEvent[UserEvent]], tx: set[uuid.UUID]
    ) -> ApplyOutcome[UserEvent]:
        for event in fresh:
            record = event.record
            personal = not isinstance(record, UserDeleted) and record.display_name == NAME
            if self.mode == "apply" and personal:
                # an exception quoting the record's repr and, worse, the value itself
                msg = f"refused {record!r}: {getattr(record, 'display_name', '')}"
                raise RuntimeError(msg)
        return super().apply(fresh, tx)


@pytest.mark.parametrize(
    ("mode", "kind", "expected"),
    [
        ("reason", "invalid", f"display name '{REDACTED}' is not allowed"),
        ("validation", "invalid", f"validation failed: ValueError: cannot check {REDACTED}"),
        ("apply", "apply_failed", f"display_name={REDACTED}): {REDACTED}"),
    ],
)
def test_reasons_and_log_lines_lose_the_records_personal_values(
    registry: Unreachable,  # noqa: F811 - the fixture imported above
    caplog: pytest.LogCaptureFixture,
    mode: str,
    kind: str,
    expected: str,
) -> None:
    user = uuid.uuid4()
    poison = registered(user, name=NAME)
    good = registered(uuid.uuid4(), name="Fine")
    source = FakeSource([message(registry, poison), message(registry, good)])
    dlq = FakeDeadLetters()
    with caplog.at_level(logging.INFO):
        report = consumer(registry, source, QuotingHandler(mode), dlq).run_once()
    assert report.applied == 1
    [letter] = dlq.parked
    assert letter.kind == kind
    assert expected in letter.reason, letter.reason
    assert NAME not in letter.reason
    assert poison.username not in letter.reason
    assert NAME not in caplog.text
    assert f"({kind}): " in caplog.text  # the parked line was logged, without the name


def test_a_transient_failure_message_loses_the_personal_values_too(
    registry: Unreachable,  # noqa: F811 - the fixture imported above
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Flaky(FakeHandler):
        def apply(
            self,
            fresh: Sequence[ConsumedEvent[UserEvent]],
            tx: set[uuid.UUID],  # noqa: ARG002 - it fails before any write
        ) -> ApplyOutcome[UserEvent]:
            names = ", ".join(getattr(e.record, "display_name", "") for e in fresh)
            raise TransientError(f"database restarting while writing {names}")

    source = FakeSource([message(registry, registered(uuid.uuid4(), name=NAME))])
    with caplog.at_level(logging.INFO):
        report = consumer(registry, source, Flaky(), FakeDeadLetters()).run_once()
    assert report.retried
    assert "database restarting while writing" in caplog.text
    assert NAME not in caplog.text
