"""The dead-letter message format: the original bytes, and why and where from in headers.

A parked message keeps its key, value and headers untouched, so a redrive sends exactly
what the producer wrote; the ``dlq.*`` headers are added beside them and dropped again
when the message is redriven.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from playball_events.consumer.dlq_headers import LetterHeaders
from playball_events.consumer.ports import DeadLetter, RawMessage

PREFIX = "dlq."
REASON = "dlq.reason"
KIND = "dlq.kind"
SOURCE_TOPIC = "dlq.source.topic"
SOURCE_PARTITION = "dlq.source.partition"
SOURCE_OFFSET = "dlq.source.offset"
PARKED_AT = "dlq.parked_at"
REDRIVEN_FROM = "dlq.redriven_from"  # on a redriven message: "<dlq topic>:<partition>:<offset>"
STUB = "dlq.stub"  # on a stub (see .dead_letter_stub): the letter was too large, no value kept
VALUE_LENGTH = "dlq.value_length"  # on a stub: the original value's length in bytes


def dead_letter_headers(letter: DeadLetter) -> list[tuple[str, str | bytes | None]]:
    message = letter.message
    return [
        *message.headers,
        (REASON, letter.reason.encode()),
        (KIND, letter.kind.encode()),
        (SOURCE_TOPIC, message.topic.encode()),
        (SOURCE_PARTITION, str(message.partition).encode()),
        (SOURCE_OFFSET, str(message.offset).encode()),
        (PARKED_AT, letter.parked_at.isoformat().encode()),
    ]


@dataclass(frozen=True, slots=True)
class ParkedMessage:
    """A message read back from the dead-letter topic."""

    partition: int  # in the dead-letter topic
    offset: int  # in the dead-letter topic
    key: bytes | None
    value: bytes | None
    original_headers: tuple[tuple[str, bytes], ...]
    reason: str
    kind: str
    source_topic: str
    source_partition: int
    source_offset: int
    parked_at: dt.datetime | None
    # what is wrong with its dlq.* headers (see :mod:`.dlq_headers`); empty when well formed
    problems: tuple[str, ...] = ()
    stub: bool = False  # parked as a stub: nothing to redrive (see :mod:`.dead_letter_stub`)

    @property
    def malformed(self) -> bool:
        return bool(self.problems)

    @property
    def event_type(self) -> str | None:
        for name, value in self.original_headers:
            # a forged letter may carry a header without a value
            if name == "event_type" and isinstance(value, bytes):
                return value.decode("utf-8", "backslashreplace")
        return None


def parse_parked(message: RawMessage) -> ParkedMessage:
    """A dead-letter message as :func:`dead_letter_headers` wrote it; never raises.

    The topic is writable by more than the consumer, so a letter whose ``dlq.*`` headers
    are missing, repeated, undecodable or of the wrong type comes back with ``problems``
    naming each: the tools show it as malformed and refuse to redrive it.
    """
    ours = LetterHeaders(message.headers, PREFIX)
    reason, kind = ours.text(REASON), ours.text(KIND)
    source_topic = ours.text(SOURCE_TOPIC)
    source_partition, source_offset = ours.number(SOURCE_PARTITION), ours.number(SOURCE_OFFSET)
    parked_at = ours.timestamp(PARKED_AT)
    return ParkedMessage(
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        original_headers=tuple((k, v) for k, v in message.headers if not k.startswith(PREFIX)),
        reason=reason,
        kind=kind,
        source_topic=source_topic,
        source_partition=source_partition,
        source_offset=source_offset,
        parked_at=parked_at,
        problems=ours.problems,
        stub=any(name == STUB for name, _ in message.headers),
    )


def select(
    parked: Sequence[ParkedMessage], wanted: Sequence[tuple[int, int]] | None
) -> list[ParkedMessage]:
    """The parked messages at the wanted (partition, offset)s, or all when ``wanted`` is None."""
    if wanted is None:
        return list(parked)
    keys = set(wanted)
    return [p for p in parked if (p.partition, p.offset) in keys]


def parse_position(text: str) -> tuple[int, int]:
    """``OFFSET`` (partition 0) or ``PARTITION:OFFSET``."""
    partition, _, offset = text.rpartition(":")
    try:
        return (int(partition) if partition else 0, int(offset))
    except ValueError:
        msg = f"{text!r} is not OFFSET or PARTITION:OFFSET"
        raise ValueError(msg) from None
