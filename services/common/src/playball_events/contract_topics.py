"""A topic of the contracts and the registry subjects it carries: what the services publish on.

The generated :mod:`playball_events.contracts.topics` builds one :class:`Topic` per topic of
the manifest from these classes, tying each subject to its generated record class; this
module stays hand-written and light (no contract is imported by importing it).
"""

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class Subject:
    """A registry subject: one record type on one topic, at one compatibility level."""

    name: str
    record: type[Any]
    record_full_name: str
    compatibility: str


@dataclasses.dataclass(frozen=True, slots=True)
class Topic:
    """A Kafka topic and the subjects (record types) it carries."""

    name: str
    subjects: tuple[Subject, ...]

    @property
    def records(self) -> tuple[type[Any], ...]:
        """The generated classes of the records on this topic."""
        return tuple(subject.record for subject in self.subjects)

    def subject_of(self, record: type[Any]) -> Subject:
        """The subject a record class is registered under on this topic."""
        for subject in self.subjects:
            if subject.record is record:
                return subject
        msg = f"{record.__name__} is not carried by topic {self.name!r}"
        raise KeyError(msg)
