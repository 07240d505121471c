"""The dead-letter producer: parks poison messages on ``<topic>.dlq`` and waits for the acks.

Its ``message.max.bytes`` is the source topic's limit plus 64 KiB
(:func:`~playball_events.message_limits.dead_letter_max_bytes`), as the ``.dlq`` topic's
is, so a message the consumer could read can be parked with its ``dlq.*`` headers.

A letter that is still too large (refused by this producer or by the broker) is parked
as a stub (:mod:`.dead_letter_stub`). The broker refuses a whole batch when one of its
messages is too large, so the letters of a refused batch are sent again one at a time,
and only those refused on their own become stubs. Any other failure raises: the loop
treats it as transient, rewinds the batch and retries after a backoff.

The same producer writes the erasures' tombstones (:meth:`KafkaDeadLetters.erase`) and
the dead-letter topics' roll markers (:meth:`KafkaDeadLetters.roll_markers`).
"""

import logging
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from playball_core.manifest import dead_letter_topic

from playball_events.consumer.dead_letter import dead_letter_headers
from playball_events.consumer.dead_letter_stub import Stub, stub_of
from playball_events.consumer.ports import DeadLetter, DeadLetterSink, RawMessage
from playball_events.kafka_errors_kafka import secured_config
from playball_events.kafka_security import KafkaSecurity
from playball_events.message_limits import DEFAULT_MAX_MESSAGE_BYTES, dead_letter_max_bytes
from playball_events.roll_markers_kafka import KafkaRollMarkers

log = logging.getLogger(__name__)

FLUSH_TIMEOUT = 30.0  # seconds to wait for the broker's acks of a batch of letters
# "Message size too large" from librdkafka's own check or from the broker, and the
# broker's refusal of a whole record batch
SIZE_ERRORS = frozenset({KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE})


def dead_letter_producer_config(
    bootstrap: str,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    security: KafkaSecurity | None = None,
) -> dict[str, Any]:
    config = {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "linger.ms": 0,
        "message.max.bytes": dead_letter_max_bytes(max_message_bytes),
    }
    return secured_config(config, security)


class KafkaDeadLetters(DeadLetterSink):
    """Produces poison messages to their dead-letter topics and waits for every ack."""

    def __init__(
        self,
        bootstrap: str,
        topic_of: dict[str, str] | None = None,
        *,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        security: KafkaSecurity | None = None,
    ) -> None:
        self._producer = Producer(
            dead_letter_producer_config(bootstrap, max_message_bytes, security)
        )
        self._topic_of = topic_of or {}

    def dead_letter_topic(self, source_topic: str) -> str:
        return self._topic_of.get(source_topic, dead_letter_topic(source_topic))

    def park(self, letters: Sequence[DeadLetter]) -> int:
        too_large = self._send(letters, whole=True)
        if len(too_large) > 1:
            # the broker refuses a batch as a whole: which of its letters are too large alone
            too_large = [letter for letter in too_large if self._send([letter], whole=True)]
        for letter in too_large:
            self._send_stub(letter)
        return len(too_large)

    def erase(self, messages: Sequence[RawMessage]) -> None:
        """A tombstone (null value, no headers) of each message's key on its dead-letter
        topic; the key's letters go at the topic's next compaction. Raises unless all
        are acknowledged."""
        errors: list[str] = []

        def delivered(error: Any, _message: Any) -> None:
            if error is not None:
                errors.append(str(error))

        for message in messages:
            self._producer.produce(
                self.dead_letter_topic(message.topic),
                key=message.key,
                value=None,
                on_delivery=delivered,
            )
        remaining = self._producer.flush(FLUSH_TIMEOUT)
        if remaining or errors:
            msg = f"dead-letter tombstones failed ({remaining} unacked): {'; '.join(errors)}"
            raise RuntimeError(msg)

    def roll_markers(self, source_topics: Sequence[str]) -> KafkaRollMarkers:
        """Roll markers on the dead-letter topics of ``source_topics``, through this producer."""
        topics = [self.dead_letter_topic(topic) for topic in source_topics]
        return KafkaRollMarkers(lambda: self._producer, topics)

    def _send_stub(self, letter: DeadLetter) -> None:
        if self._send([letter], whole=False):
            msg = "dead-letter topic refuses even the stub of a letter as too large"
            raise RuntimeError(msg)
        message = letter.message
        log.warning(
            "parked %s[%d]@%d as a stub (the letter is too large for %s)",
            message.topic,
            message.partition,
            message.offset,
            self.dead_letter_topic(message.topic),
        )

    def _send(self, letters: Sequence[DeadLetter], *, whole: bool) -> list[DeadLetter]:
        """Produce ``letters`` (or their stubs) and wait; the ones refused as too large."""
        too_large: list[DeadLetter] = []
        errors: list[str] = []
        for letter in letters:
            message = letter.message
            if whole:
                key, value = message.key, message.value
                headers = dead_letter_headers(letter)
            else:
                stub: Stub = stub_of(letter)
                key, value, headers = stub.key, stub.value, stub.headers
            try:
                self._producer.produce(
                    self.dead_letter_topic(message.topic),
                    key=key,
                    value=value,
                    headers=headers,
                    on_delivery=_delivery(letter, too_large, errors),
                )
            except KafkaException as exc:
                if exc.args[0].code() not in SIZE_ERRORS:
                    raise
                too_large.append(letter)  # over this producer's message.max.bytes
        remaining = self._producer.flush(FLUSH_TIMEOUT)
        if remaining or errors:
            msg = f"dead-letter produce failed ({remaining} unacked): {'; '.join(errors)}"
            raise RuntimeError(msg)
        return too_large


def _delivery(
    letter: DeadLetter, too_large: list[DeadLetter], errors: list[str]
) -> Callable[[Any, Any], None]:
    def delivered(error: Any, _message: Any) -> None:
        if error is None:
            return
        if error.code() in SIZE_ERRORS:
            too_large.append(letter)
        else:
            errors.append(str(error))

    return delivered
