"""The ``topics`` module: the manifest's topics and subjects, tied to the generated classes.

Services take topic names, subjects and the record classes a topic carries from here, so
no service code spells a topic or a subject, and a manifest change shows up as a
generated diff that ``playball codegen check`` catches.
"""

import re

from playball_core.manifest import Manifest

_TOPIC_CLASSES = '''

@_dc.dataclass(frozen=True, slots=True)
class Subject:
    """A registry subject: one record type on one topic, at one compatibility level."""

    name: str
    record: type[_t.Any]
    record_full_name: str
    compatibility: str


@_dc.dataclass(frozen=True, slots=True)
class Topic:
    """A Kafka topic and the subjects (record types) it carries."""

    name: str
    subjects: tuple[Subject, ...]

    @property
    def records(self) -> tuple[type[_t.Any], ...]:
        """The generated classes of the records on this topic."""
        return tuple(subject.record for subject in self.subjects)

    @property
    def dead_letter(self) -> str:
        """The topic poison messages of this one are parked on."""
        return f"{self.name}.dlq"

    def subject_of(self, record: type[_t.Any]) -> Subject:
        """The subject a record class is registered under on this topic."""
        for subject in self.subjects:
            if subject.record is record:
                return subject
        msg = f"{record.__name__} is not carried by topic {self.name!r}"
        raise KeyError(msg)

    def subject_named(self, record_full_name: str) -> Subject:
        """The subject of the record with this full Avro name."""
        for subject in self.subjects:
            if subject.record_full_name == record_full_name:
                return subject
        msg = f"{record_full_name!r} is not carried by topic {self.name!r}"
        raise KeyError(msg)
'''


def constant_name(topic: str) -> str:
    """``playball.auth.user-events.v1`` -> ``PLAYBALL_AUTH_USER_EVENTS_V1``."""
    name = re.sub(r"[^0-9A-Za-z]+", "_", topic).strip("_").upper()
    return name if name and not name[0].isdigit() else f"TOPIC_{name}"


def topics_module(header: str, package: str, manifest: Manifest, classes: dict[str, str]) -> str:
    """Source of ``<package>.topics``; ``classes`` maps record full names to class names."""
    by_topic: dict[str, list[str]] = {}
    for entry in manifest.schemas:
        by_topic.setdefault(entry.topic, [])
        cls = classes[entry.record_full_name]
        by_topic[entry.topic].append(
            f"        Subject(\n"
            f"            name={entry.subject!r},\n"
            f"            record={cls},\n"
            f"            record_full_name={entry.record_full_name!r},\n"
            f"            compatibility={entry.compatibility.value!r},\n"
            f"        ),"
        )
    used = sorted({classes[entry.record_full_name] for entry in manifest.schemas})
    imports = "".join(f"\n    {name}," for name in used)
    constants = [
        f"{constant_name(topic)} = Topic(\n    name={topic!r},\n    subjects=(\n"
        + "\n".join(subjects)
        + "\n    ),\n)"
        for topic, subjects in by_topic.items()
    ]
    all_topics = ", ".join(constant_name(topic) for topic in by_topic)
    return (
        f"{header}\n"
        f'"""Topics and subjects of the contracts, as `{manifest.path.name}` declares them."""\n\n'
        "import dataclasses as _dc\nimport typing as _t\n\n"
        f"from {package}.records import ({imports}\n)\n"
        f"{_TOPIC_CLASSES}\n\n"
        + "\n\n".join(constants)
        + f"\n\nALL_TOPICS: tuple[Topic, ...] = ({all_topics},)\n"
    )
