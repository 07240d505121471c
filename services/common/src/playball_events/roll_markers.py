"""Roll markers: tombstones that keep quiet partitions rolling, so compaction can erase.

Kafka rolls a segment only when a message is appended to it, and never compacts the
active segment: on a partition nobody writes to, a deleted user's older events would
stay for ever. So the relay (on the contract topics) and the consumer (on their ``.dlq``)
append a marker to every partition, by explicit partition, at least every ``segment.ms``
/ 2 (:func:`~playball_events.topic_settings.marker_interval_seconds`): at start, then
each interval. A marker is a tombstone (null value) keyed ``_playball/roll/<partition>``,
so compaction keeps only the latest per partition, and removes that too after
``delete.retention.ms``.

Every key starting ``_playball/`` is the project's own control message, never an event:
consumers skip it without parking it, and the dead-letter tools do not list it
(:func:`is_control_key`).
"""

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

log = logging.getLogger(__name__)

CONTROL_KEY_PREFIX = b"_playball/"
ROLL_KEY_PREFIX = CONTROL_KEY_PREFIX + b"roll/"
# after a failed round, the next try comes this soon (or at the interval, if shorter)
RETRY_AFTER = 30.0


def roll_marker_key(partition: int) -> bytes:
    """The key of partition ``partition``'s roll marker."""
    return ROLL_KEY_PREFIX + str(partition).encode()


def is_control_key(key: bytes | None) -> bool:
    """Whether a message with this key is one of the project's control messages."""
    return key is not None and key.startswith(CONTROL_KEY_PREFIX)


class RollMarkers(ABC):
    """Appends one roll marker to every partition of its topics."""

    @abstractmethod
    def write(self) -> int:
        """Write a marker to each partition and wait for the acks; how many were written.

        Raises when a marker could not be written (the broker is away, say).
        """


class RollMarking:
    """When the markers are due: at start, then every ``interval`` seconds.

    Its owner calls :meth:`tick` from its loop (the relay's housekeeping, the consumer's
    poll loop), which must come round more often than the interval. A failed round is
    logged and tried again after :data:`RETRY_AFTER` seconds (or the interval, if
    shorter); it never stops the owner, whose own work does not depend on it.
    """

    def __init__(
        self,
        markers: RollMarkers,
        interval: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval <= 0:
            msg = f"the roll marker interval must be positive, not {interval}"
            raise ValueError(msg)
        self.markers = markers
        self.interval = interval
        self._monotonic = monotonic
        self._next: float | None = None  # None: due now (nothing written yet)

    def tick(self) -> bool:
        """Write the markers if they are due; True when a round was written."""
        now = self._monotonic()
        if self._next is not None and now < self._next:
            return False
        try:
            written = self.markers.write()
        except Exception as exc:  # any failure: the owner goes on, the markers retry
            self._next = now + min(self.interval, RETRY_AFTER)
            log.warning("roll markers not written (next try in %.0f s): %s", self._next - now, exc)
            return False
        self._next = now + self.interval
        log.debug("wrote %d roll markers", written)
        return True
