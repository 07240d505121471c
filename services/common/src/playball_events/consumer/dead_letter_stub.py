"""A letter too large for the dead-letter topic, parked as a stub instead.

The dead-letter topic takes 64 KiB more than its source topic, so a letter normally fits;
one that still does not (a topic whose limit was raised without its ``.dlq``'s, headers
that grew it past the limit) must not stall the consumer either. Its stub says where
the message is (source topic, partition, offset), why it was parked and how long its
value was, and keeps nothing a producer could make large: no value, none of the original
headers, and the key only up to 1 KiB (else ``sha256:<hex>`` of it). The original stays
readable at its position until the source topic's retention or compaction removes it.

The stub's value is empty rather than null: the dead-letter topic is compacted, where a
null value is a tombstone that would delete the key's earlier letters, and itself.
A stub cannot be redriven: there is nothing to send.
"""

from dataclasses import dataclass

from playball_events.consumer.dead_letter import (
    KIND,
    PARKED_AT,
    REASON,
    SOURCE_OFFSET,
    SOURCE_PARTITION,
    SOURCE_TOPIC,
    STUB,
    VALUE_LENGTH,
)
from playball_events.consumer.letter_limits import bounded_reason, stub_key
from playball_events.consumer.ports import DeadLetter


@dataclass(frozen=True, slots=True)
class Stub:
    """What is produced to the dead-letter topic in place of a letter."""

    key: bytes | None
    value: bytes
    headers: list[tuple[str, str | bytes | None]]


def stub_of(letter: DeadLetter) -> Stub:
    message = letter.message
    length = len(message.value) if message.value is not None else 0
    reason = bounded_reason(
        f"stub: the letter was too large to park, its value of {length} bytes is not kept; "
        f"{letter.reason}"
    )
    headers: list[tuple[str, str | bytes | None]] = [
        (REASON, reason.encode()),
        (KIND, letter.kind.encode()),
        (SOURCE_TOPIC, message.topic.encode()),
        (SOURCE_PARTITION, str(message.partition).encode()),
        (SOURCE_OFFSET, str(message.offset).encode()),
        (PARKED_AT, letter.parked_at.isoformat().encode()),
        (STUB, b"true"),
        (VALUE_LENGTH, str(length).encode()),
    ]
    return Stub(stub_key(message.key), b"", headers)
