"""What the catalog shows, gathered before any page is written (the templates only render)."""

from dataclasses import dataclass, field

from playball_catalog.diff import FieldChange
from playball_catalog.fields import FieldView
from playball_catalog.matrix import Matrix


@dataclass(frozen=True, slots=True)
class VersionView:
    label: str  # "v3" from the registry, a commit from git, "working tree"
    origin: str  # "registry id 7", "git 3f2a9c1:schemas/UserUpdated.avsc"
    text: str  # the schema as written
    fields: tuple[FieldView, ...]
    changes: tuple[FieldChange, ...]  # against the version before; empty for the first
    first: bool


@dataclass(frozen=True, slots=True)
class ReaderView:
    label: str  # the gate's "groups-consumer 0.1.0, group …, instance …"
    service: str
    version: str
    consumer_group: str
    instance_id: str
    host: str
    started_at: str
    last_seen: str
    stopped_at: str  # "" while running
    reads_as: str  # which version's schema it decodes with, or "unregistered schema"


@dataclass(frozen=True, slots=True)
class PartitionLag:
    group: str
    partition: int
    committed: int | None  # None: the group has no committed offset there
    end: int
    lag: int | None


@dataclass(frozen=True, slots=True)
class TopicView:
    name: str
    subjects: tuple[str, ...]
    producers: tuple[str, ...]
    # the broker's answer; None when the build did not ask it (offline) or it was unreachable
    settings: dict[str, str] | None = None
    lag: tuple[PartitionLag, ...] = ()
    cluster_note: str = ""  # why there are no settings or lag

    @property
    def slug(self) -> str:
        return slug(self.name)


@dataclass(frozen=True, slots=True)
class SubjectView:
    subject: str
    topic: str
    record: str  # the record's full name
    level: str
    doc: str
    file: str  # the .avsc, relative to the schema directory
    fields: tuple[FieldView, ...]  # of the newest version
    versions: tuple[VersionView, ...]  # oldest first
    matrix: Matrix
    producers: tuple[str, ...]
    readers: tuple[ReaderView, ...]
    notes: tuple[str, ...] = ()

    @property
    def slug(self) -> str:
        return slug(self.subject)

    @property
    def personal_fields(self) -> tuple[str, ...]:
        return tuple(view.name for view in self.fields if view.personal)


@dataclass(frozen=True, slots=True)
class Catalog:
    title: str
    source: str  # "offline: git history and schemas/readers.json", "online: registry …"
    built_at: str
    topics: tuple[TopicView, ...]
    subjects: tuple[SubjectView, ...]
    notes: tuple[str, ...] = field(default=())


def slug(name: str) -> str:
    """A file name for a subject or topic: they are made of letters, digits, ``._-``."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
