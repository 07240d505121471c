"""How fast a contract topic forgets: its compaction settings, and the roll markers' pace.

A compacted topic removes a deleted user's older events only from segments that have
rolled, and Kafka rolls a segment only when a message is appended to it. So erasure
within a bound needs three things (see docs/privacy.md):

- ``max.compaction.lag.ms`` (KIP-354): a segment older than this is rolled at the next
  append, and a log whose oldest uncompacted message is older is compacted whatever its
  dirty ratio;
- ``segment.ms`` no longer than that, so a partition rolls at least as often;
- an append at least every ``segment.ms`` / 2 on every partition, even a quiet one: the
  relay and the consumer write roll markers (:mod:`playball_events.roll_markers`).

``min.cleanable.dirty.ratio`` (0.1) has the cleaner compact sooner than Kafka's 0.5 on a
busy log, and ``delete.retention.ms`` bounds how long a tombstone (a roll marker, a
dead-letter erasure) stays readable once compacted. ``playball topics ensure`` sets all
four on each contract topic and its ``.dlq``; the relay and the groups consumer read
``PLAYBALL_TOPIC_SEGMENT_MS`` to pace their markers, so one setting drives both.
"""

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from playball_events.settings import ENV_PREFIX, load_settings

DAY_MS = 86_400_000
SMALLEST_SEGMENT_MS = 1_000  # a marker every half second at most: the floor of the pace

SEGMENT_MS_VARIABLE = "PLAYBALL_TOPIC_SEGMENT_MS"
MAX_COMPACTION_LAG_MS_VARIABLE = "PLAYBALL_TOPIC_MAX_COMPACTION_LAG_MS"


class TopicSettings(BaseSettings):
    """``PLAYBALL_TOPIC_*``: the retention settings of the contract topics and their .dlq.

    Also a base of the relay's and the groups service's settings, which pace their roll
    markers by :attr:`topic_segment_ms` (:meth:`marker_interval_seconds`).
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, validate_by_name=True
    )

    topic_max_compaction_lag_ms: int = Field(
        default=DAY_MS,
        ge=SMALLEST_SEGMENT_MS,
        description="max.compaction.lag.ms of the contract topics and their .dlq: how long "
        "a message may wait to be compacted",
    )
    topic_segment_ms: int = Field(
        default=DAY_MS,
        ge=SMALLEST_SEGMENT_MS,
        description="segment.ms of the contract topics and their .dlq, at most "
        "PLAYBALL_TOPIC_MAX_COMPACTION_LAG_MS; the relay and the consumer append a roll "
        "marker to every partition each half of it",
    )
    topic_min_cleanable_dirty_ratio: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description="min.cleanable.dirty.ratio: the share of uncompacted log that makes the "
        "cleaner compact a partition",
    )
    topic_delete_retention_ms: int = Field(
        default=DAY_MS,
        ge=0,
        description="delete.retention.ms: how long a tombstone stays once compacted",
    )

    @model_validator(mode="after")
    def _segments_roll_within_the_lag(self) -> Self:
        if self.topic_segment_ms > self.topic_max_compaction_lag_ms:
            msg = (
                f"{SEGMENT_MS_VARIABLE} ({self.topic_segment_ms}) must not exceed "
                f"{MAX_COMPACTION_LAG_MS_VARIABLE} ({self.topic_max_compaction_lag_ms}): "
                "a segment would then hold a deleted user's events longer than the lag allows"
            )
            raise ValueError(msg)
        return self

    def topic_config(self) -> dict[str, str]:
        """The topic-level entries, as Kafka names and prints them."""
        return {
            "max.compaction.lag.ms": str(self.topic_max_compaction_lag_ms),
            "segment.ms": str(self.topic_segment_ms),
            # Kafka prints a double as Java does: 0.1, 0.25, 1.0 (so does Python)
            "min.cleanable.dirty.ratio": str(float(self.topic_min_cleanable_dirty_ratio)),
            "delete.retention.ms": str(self.topic_delete_retention_ms),
        }

    def marker_interval_seconds(self) -> float:
        """How often the relay and the consumer append a roll marker to each partition:
        half of ``segment.ms``, so a quiet partition's segment never outlives it by more
        than one interval."""
        return marker_interval_seconds(self.topic_segment_ms)


def marker_interval_seconds(segment_ms: int) -> float:
    """The roll markers' interval for a topic whose ``segment.ms`` is ``segment_ms``."""
    return segment_ms / 2 / 1000


def load_topic_settings() -> TopicSettings:
    """The ``PLAYBALL_TOPIC_*`` settings; SettingsError (exit 2) naming a bad one."""
    return load_settings(TopicSettings)
