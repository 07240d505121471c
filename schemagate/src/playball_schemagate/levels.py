"""Which past versions a candidate is checked against, and in which direction, per level.

Confluent's meaning, which Apicurio follows: BACKWARD means the new schema reads data
written with the old one; FORWARD, the old schema reads data written with the new one;
FULL, both. Plain levels compare with the latest version only, ``_TRANSITIVE`` ones with
every version.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from playball_core.manifest import CompatibilityLevel

from playball_schemagate.findings import Direction
from playball_schemagate.schema_version import SchemaVersion

_DIRECTIONS: dict[CompatibilityLevel, tuple[Direction, ...]] = {
    CompatibilityLevel.BACKWARD: (Direction.NEW_READS_OLD,),
    CompatibilityLevel.BACKWARD_TRANSITIVE: (Direction.NEW_READS_OLD,),
    CompatibilityLevel.FORWARD: (Direction.OLD_READS_NEW,),
    CompatibilityLevel.FORWARD_TRANSITIVE: (Direction.OLD_READS_NEW,),
    CompatibilityLevel.FULL: (Direction.NEW_READS_OLD, Direction.OLD_READS_NEW),
    CompatibilityLevel.FULL_TRANSITIVE: (Direction.NEW_READS_OLD, Direction.OLD_READS_NEW),
    CompatibilityLevel.NONE: (),
}


@dataclass(frozen=True, slots=True)
class PlannedCheck:
    old: SchemaVersion
    direction: Direction


def is_transitive(level: CompatibilityLevel) -> bool:
    return level.value.endswith("_TRANSITIVE")


def plan_checks(level: CompatibilityLevel, history: Sequence[SchemaVersion]) -> list[PlannedCheck]:
    """The checks for ``level``; ``history`` is oldest first. Newest comparisons come first."""
    against = list(history) if is_transitive(level) else list(history[-1:])
    return [
        PlannedCheck(old=version, direction=direction)
        for version in reversed(against)
        for direction in _DIRECTIONS[level]
    ]


def parse_level(text: str) -> CompatibilityLevel:
    """A level from user input, case-insensitive; ValueError names the allowed ones."""
    try:
        return CompatibilityLevel(text.strip().upper())
    except ValueError:
        allowed = ", ".join(level.value for level in CompatibilityLevel)
        msg = f"unknown compatibility level {text!r} (allowed: {allowed})"
        raise ValueError(msg) from None
