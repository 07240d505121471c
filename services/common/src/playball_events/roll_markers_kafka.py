"""Roll markers through a producer the relay or the consumer already has.

One tombstone per partition of each topic, produced to that partition explicitly (the
key alone would hash several partitions' markers onto one), then awaited through the
producer's delivery reports: ``poll()``, not ``flush()``, so the relay's batches in
flight on the same producer are not waited for too. A topic the cluster does not have
is skipped, and said once: nothing is delivered to it either.
"""

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from playball_events.roll_markers import RollMarkers, roll_marker_key

log = logging.getLogger(__name__)

MARKER_TIMEOUT = 10.0  # seconds for the metadata and the acks of one round


class KafkaRollMarkers(RollMarkers):
    def __init__(
        self,
        producer: Callable[[], Producer],
        topics: Sequence[str],
        *,
        timeout: float = MARKER_TIMEOUT,
    ) -> None:
        # a getter: the relay's publisher replaces its producer after a fatal error
        self._producer = producer
        self.topics = tuple(topics)
        self._timeout = timeout
        self._missing_reported: set[str] = set()

    def write(self) -> int:
        producer = self._producer()
        deadline = time.monotonic() + self._timeout
        # appended to by whichever thread polls the producer (the relay's settling thread
        # polls it too): list.append is atomic, a shared counter would not be
        reports: list[str | None] = []
        refused: list[str] = []

        def delivered(error: KafkaError | None, _message: Any) -> None:
            reports.append(None if error is None else error.str())

        written = 0
        for topic in self.topics:
            for partition in self._partitions(producer, topic):
                try:
                    producer.produce(
                        topic,
                        key=roll_marker_key(partition),
                        value=None,
                        partition=partition,
                        on_delivery=delivered,
                    )
                except (BufferError, KafkaException) as exc:
                    refused.append(f"{topic}[{partition}]: {exc}")
                    continue
                written += 1
        while len(reports) < written and time.monotonic() < deadline:
            producer.poll(min(0.1, max(0.0, deadline - time.monotonic())))
        errors = [*refused, *(error for error in reports if error is not None)]
        missing = written - len(reports)
        if missing > 0 or errors:
            first = errors[0] if errors else "no delivery report in time"
            msg = f"{missing} unacknowledged, {len(errors)} failed: {first}"
            raise RuntimeError(msg)
        return written

    def _partitions(self, producer: Producer, topic: str) -> list[int]:
        metadata = producer.list_topics(topic, timeout=self._timeout).topics.get(topic)
        error = None if metadata is None else metadata.error
        if metadata is not None and error is None:
            self._missing_reported.discard(topic)
            return sorted(metadata.partitions)
        if error is not None and error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
            raise KafkaException(error)  # not authorized, say: worth a warning each round
        if topic not in self._missing_reported:
            self._missing_reported.add(topic)
            log.warning("topic %s does not exist: no roll markers for it", topic)
        return []
