"""The erasure bound: how long a deleted user's personal data may stay, at most.

It is the sum of five terms, each read from the settings in force:

1. the outbox retention (``PLAYBALL_RELAY_RETENTION_SECONDS``): sent rows, which hold the
   user's earlier events, are kept that long after they were sent;
2. the outbox cleanup interval (``PLAYBALL_RELAY_CLEANUP_INTERVAL``): how late cleanup
   comes round to them;
3. ``min(segment.ms, max.compaction.lag.ms)`` of the topic and of its ``.dlq`` (the larger
   of the two): the age at which Kafka rolls the segment holding the deletion at the next
   append (KIP-354 lowers the roll deadline of a compacted topic to the lag);
4. the roll marker interval (``PLAYBALL_TOPIC_SEGMENT_MS`` / 2, the pace the relay and the
   consumer write markers at): how long that next append may take on a quiet partition;
5. ``log.cleaner.backoff.ms`` of the brokers (the largest): how long an idle cleaner
   sleeps before it looks for a log to compact again.

The two halves run side by side (the outbox's cleanup, the topics' compaction), so the
sum is generous; it leaves room for what no setting states, such as the relay's and the
consumer's own delay in writing the deletion and its tombstone. It assumes the services
run (the relay and the consumer write the markers) and that a log cleaner thread is
alive. See docs/privacy.md.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from playball_core.manifest import dead_letter_topic
from playball_events.topic_settings import SEGMENT_MS_VARIABLE

SEGMENT_MS, MAX_LAG_MS = "segment.ms", "max.compaction.lag.ms"
CLEANER_BACKOFF_MS = "log.cleaner.backoff.ms"


class BoundError(ValueError):
    """A setting the bound needs is missing or not a number."""


@dataclass(frozen=True, slots=True)
class Term:
    name: str
    seconds: float
    source: str  # where the value was read: a variable, a topic, a broker


@dataclass(frozen=True, slots=True)
class Bound:
    terms: tuple[Term, ...]
    notes: tuple[str, ...] = ()

    @property
    def seconds(self) -> float:
        return sum(term.seconds for term in self.terms)

    def to_json(self) -> dict[str, Any]:
        return {
            "bound_seconds": round(self.seconds, 3),
            "terms": [
                {"term": t.name, "seconds": round(t.seconds, 3), "source": t.source}
                for t in self.terms
            ],
            "notes": list(self.notes),
        }

    def lines(self) -> list[str]:
        width = max(len(term.name) for term in self.terms)
        lines = [f"erasure bound: {self.seconds:.3f} s ({duration(self.seconds)})"]
        lines.extend(f"  {t.name:<{width}}  {t.seconds:>14.3f} s  {t.source}" for t in self.terms)
        lines.extend(f"note: {note}" for note in self.notes)
        return lines


def erasure_bound(
    *,
    retention_seconds: float,
    cleanup_interval_seconds: float,
    marker_interval_seconds: float,
    env_segment_ms: int,
    topic_configs: Mapping[str, Mapping[str, str]],
    cleaner_backoff_ms: Mapping[int, str],
) -> Bound:
    """The bound from the relay's settings and what the cluster reports.

    ``topic_configs``: each topic's (and dead-letter topic's) effective configuration;
    ``cleaner_backoff_ms``: ``log.cleaner.backoff.ms`` by broker id.
    """
    if not topic_configs:
        msg = "no topic to bound"
        raise BoundError(msg)
    rolls = {name: _roll_ms(name, config) for name, config in topic_configs.items()}
    slowest = max(rolls, key=lambda name: rolls[name])
    if not cleaner_backoff_ms:
        msg = f"no broker reported {CLEANER_BACKOFF_MS}"
        raise BoundError(msg)
    backoffs = {
        node: _number(f"broker {node}", CLEANER_BACKOFF_MS, value)
        for node, value in cleaner_backoff_ms.items()
    }
    slowest_broker = max(backoffs, key=lambda node: backoffs[node])
    terms = (
        Term("outbox retention", retention_seconds, "PLAYBALL_RELAY_RETENTION_SECONDS"),
        Term(
            "outbox cleanup interval", cleanup_interval_seconds, "PLAYBALL_RELAY_CLEANUP_INTERVAL"
        ),
        Term(f"min({SEGMENT_MS}, {MAX_LAG_MS})", rolls[slowest] / 1000, f"topic {slowest}"),
        Term("roll marker interval", marker_interval_seconds, f"{SEGMENT_MS_VARIABLE} / 2"),
        Term(CLEANER_BACKOFF_MS, backoffs[slowest_broker] / 1000, f"broker {slowest_broker}"),
    )
    return Bound(terms, tuple(_notes(topic_configs, env_segment_ms)))


def _roll_ms(topic: str, config: Mapping[str, str]) -> int:
    return min(
        _number(f"topic {topic}", SEGMENT_MS, config.get(SEGMENT_MS)),
        _number(f"topic {topic}", MAX_LAG_MS, config.get(MAX_LAG_MS)),
    )


def _number(where: str, key: str, value: str | None) -> int:
    if value is None:
        msg = f"{where} reports no {key}"
        raise BoundError(msg)
    try:
        return int(value)
    except ValueError:
        msg = f"{where}: {key} is {value[:40]!r}, not a whole number"
        raise BoundError(msg) from None


def _notes(topic_configs: Mapping[str, Mapping[str, str]], env_segment_ms: int) -> list[str]:
    """What makes the number less than it seems: settings the topics do not have yet."""
    notes = []
    for name, config in topic_configs.items():
        actual = config.get(SEGMENT_MS)
        if actual is not None and actual != str(env_segment_ms):
            notes.append(
                f"topic {name} has {SEGMENT_MS}={actual}, but {SEGMENT_MS_VARIABLE} is "
                f"{env_segment_ms}: the markers are paced by the variable; `playball topics "
                "ensure --apply-configs` makes them agree"
            )
    return notes


def duration(seconds: float) -> str:
    """``1 d 12 h``, ``2 min 5 s``, ``8.5 s``: the bound for people."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def dead_letter_pairs(topics: Sequence[str]) -> list[str]:
    """Each topic followed by its dead-letter topic: the places the bound covers."""
    return [name for topic in topics for name in (topic, dead_letter_topic(topic))]
