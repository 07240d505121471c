"""What the gate reports: findings with rule, path, place in the file, direction and a fix."""

from dataclasses import dataclass
from enum import StrEnum

from playball_core.avro.jsonpos import Position

from playball_schemagate.rules import Rule


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Direction(StrEnum):
    """Who reads whom in the failing check, and so who must be deployed first."""

    NEW_READS_OLD = "new-readers-old-data"  # BACKWARD: consumers upgrade first
    OLD_READS_NEW = "old-readers-new-data"  # FORWARD: producers upgrade first

    @property
    def explanation(self) -> str:
        if self is Direction.NEW_READS_OLD:
            return "new readers vs old data (BACKWARD: upgrade consumers first)"
        return "old readers vs new data (FORWARD: upgrade producers first)"


@dataclass(frozen=True, slots=True)
class Location:
    label: str  # the source as shown: a path, "3f2a9c1:schemas/X.avsc", "registry v2"
    position: Position | None
    file: str | None = None  # a path on disk a CI annotation can point at

    def __str__(self) -> str:
        return f"{self.label}:{self.position}" if self.position else self.label


@dataclass(frozen=True, slots=True)
class Finding:
    rule: Rule
    severity: Severity
    path: str  # e.g. "fields[email].type"
    message: str
    hint: str
    old_version: str
    new_version: str
    direction: Direction | None = None  # None for lint findings (no reader/writer pair)
    location: Location | None = None  # in the candidate where the element exists there
    counterpart: Location | None = None  # the same element in the other version

    @property
    def compared(self) -> str:
        return f"{self.old_version} -> {self.new_version}"
