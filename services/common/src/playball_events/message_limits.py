"""How large a message may be: on a contract topic, on its dead-letter topic, and in between.

A parked letter is the original message plus its ``dlq.*`` headers, so the dead-letter
topic and the producer that writes it must take more than the source topic does: X on
the topic, X + 64 KiB on its ``.dlq`` and on the dead-letter producer. Without that
headroom a message just under the topic's limit (librdkafka's own default is
1,000,000 bytes, the broker's 1 MiB) could be consumed but never parked.
"""

MAX_MESSAGE_BYTES_VARIABLE = "PLAYBALL_KAFKA_MAX_MESSAGE_BYTES"
DEFAULT_MAX_MESSAGE_BYTES = 1_048_576  # X: the contract topic's max.message.bytes (1 MiB)
DEAD_LETTER_HEADROOM = 65_536  # room for the dlq.* headers (a reason is at most 1 KiB)
SMALLEST_MAX_MESSAGE_BYTES = 65_536  # below this a contract event would hardly fit
LARGEST_MAX_MESSAGE_BYTES = 100_000_000  # librdkafka's receive.message.max.bytes default


def dead_letter_max_bytes(max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> int:
    """``max.message.bytes`` of the ``.dlq`` topic, and ``message.max.bytes`` of its producer."""
    return max_message_bytes + DEAD_LETTER_HEADROOM


def parse_max_message_bytes(text: str, name: str = MAX_MESSAGE_BYTES_VARIABLE) -> int:
    """A byte count from a setting's text; ``ValueError`` naming the setting otherwise."""
    try:
        value = int(text.strip())
    except ValueError:
        msg = f"{name}: {text[:40]!r} is not a whole number of bytes"
        raise ValueError(msg) from None
    if not SMALLEST_MAX_MESSAGE_BYTES <= value <= LARGEST_MAX_MESSAGE_BYTES:
        msg = (
            f"{name}: {value} is outside {SMALLEST_MAX_MESSAGE_BYTES}.."
            f"{LARGEST_MAX_MESSAGE_BYTES} bytes"
        )
        raise ValueError(msg)
    return value
