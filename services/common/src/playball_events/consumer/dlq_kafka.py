"""Reading the dead-letter topic back, and redriving parked messages to their source topic.

Both read the dead-letter topic with an assigned (group-less) consumer from its start to
its current end, so listing never moves any group's offsets. Reading never fails on a
letter (a malformed one comes back marked, see :func:`letter_of`); where a redrive may
send is :mod:`.redrive_checks`' business.

What is on the topic but is no letter is skipped: roll markers (``_playball/`` keys) and
the tombstones that erase a deleted user's letters (null values), so neither is listed
nor redriven.
"""

import dataclasses
from collections.abc import Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

from playball_events.consumer.dead_letter import (
    PREFIX,
    REDRIVEN_FROM,
    ParkedMessage,
    parse_parked,
)
from playball_events.consumer.ports import RawMessage
from playball_events.consumer.redrive_checks import redrive_target
from playball_events.consumer.source_kafka import raw_message
from playball_events.kafka_errors_kafka import secured_config
from playball_events.kafka_security import KafkaSecurity
from playball_events.roll_markers import is_control_key
from playball_events.topic_read_kafka import TopicReadError, messages_to_end


class DeadLetterTopicError(Exception):
    """The dead-letter topic cannot be read or written (missing, broker unreachable)."""


def letter_of(message: Any) -> ParkedMessage:
    """The letter in a consumed message; marked malformed, never raising, when even its
    headers cannot be read (the client decodes header names as UTF-8 and raises on other
    bytes, which a client other than ours can write)."""
    try:
        return parse_parked(raw_message(message))
    except (ValueError, TypeError, SystemError) as exc:  # UnicodeDecodeError is a ValueError
        bare = RawMessage(
            message.topic(), message.partition(), message.offset(), message.key(), message.value()
        )
        problem = f"its headers cannot be read ({type(exc).__name__})"
        return dataclasses.replace(parse_parked(bare), problems=(problem,))


def _is_tombstone_or_marker(message: Any) -> bool:
    """A roll marker, or a tombstone erasing a key's letters: not a letter."""
    return message.value() is None or is_control_key(message.key())


def read_parked(
    bootstrap: str,
    dlq_topic: str,
    timeout: float = 10.0,
    *,
    security: KafkaSecurity | None = None,
) -> list[ParkedMessage]:
    """Every message on the dead-letter topic, oldest first per partition."""
    consumer = Consumer(
        secured_config(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "playball-dlq-reader",  # required by the client, never committed
                "enable.auto.commit": False,
                "enable.partition.eof": True,
            },
            security,
        )
    )
    parked: list[ParkedMessage] = []
    try:
        # a letter the client cannot hand over is skipped: the listing shows the rest
        for message in messages_to_end(consumer, dlq_topic, timeout, tolerate=_any_error):
            if not _is_tombstone_or_marker(message):
                parked.append(letter_of(message))
    except (TopicReadError, KafkaException) as exc:
        raise DeadLetterTopicError(f"dead-letter topic {dlq_topic!r}: {exc}") from exc
    finally:
        consumer.close()
    return sorted(parked, key=lambda p: (p.partition, p.offset))


def _any_error(_error: KafkaError) -> bool:
    return True


def redrive(
    bootstrap: str,
    dlq_topic: str,
    messages: Sequence[ParkedMessage],
    timeout: float = 30.0,
    *,
    security: KafkaSecurity | None = None,
) -> int:
    """Produce each parked message again to its source topic, as its producer wrote it.

    Same key (so the same partition and per-user order), same value and original headers,
    plus ``dlq.redriven_from``. A message redriven twice is a duplicate the consumer skips.
    The source topic is the one ``dlq_topic`` belongs to, never a letter's header; raises
    :class:`~.redrive_checks.RedriveRefusedError`, sending nothing, when a letter is refused.
    """
    target = redrive_target(messages, dlq_topic)
    producer = Producer(
        secured_config({"bootstrap.servers": bootstrap, "enable.idempotence": True}, security)
    )
    errors: list[str] = []

    def delivered(error: object, _message: object) -> None:
        if error is not None:
            errors.append(str(error))

    for parked in messages:
        headers: list[tuple[str, str | bytes | None]] = [
            (k, v) for k, v in parked.original_headers if not k.startswith(PREFIX)
        ]
        origin = f"{dlq_topic}:{parked.partition}:{parked.offset}"
        headers.append((REDRIVEN_FROM, origin.encode()))
        producer.produce(
            target,
            key=parked.key,
            value=parked.value,
            headers=headers,
            on_delivery=delivered,
        )
    remaining = producer.flush(timeout)
    if remaining or errors:
        msg = f"redrive failed ({remaining} unacked): {'; '.join(errors)}"
        raise DeadLetterTopicError(msg)
    return len(messages)
