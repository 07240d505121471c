"""Assemble the catalog's views from versions, readers and the cluster's answers.

Where the versions come from (git or the registry) and whether the broker was asked is the
caller's business (:mod:`playball_catalog.offline`, :mod:`playball_catalog.online`); this
module only turns what was found into what the pages show.
"""

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from playball_core.avro.tags import without_annotations
from playball_core.manifest import Manifest, SchemaEntry
from playball_schemagate.readers import DeployedReader
from playball_schemagate.schema_version import SchemaVersion

from playball_catalog.diff import field_diff
from playball_catalog.fields import field_views
from playball_catalog.matrix import compatibility_matrix
from playball_catalog.model import (
    Catalog,
    PartitionLag,
    ReaderView,
    SubjectView,
    TopicView,
    VersionView,
)
from playball_catalog.producers import producers

UNLISTED_SCHEMA = "a schema no version listed here has"


def _stamp(moment: dt.datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def _shape(schema: Any) -> str:
    """What a payload's decoding depends on, comparable across docs and tags edits."""
    return json.dumps(without_annotations(schema), sort_keys=True)


def reader_views(
    readers: Sequence[DeployedReader], entry: SchemaEntry, versions: Sequence[SchemaVersion]
) -> tuple[ReaderView, ...]:
    shapes = {_shape(v.document.value_at(())): v.label for v in versions}
    found = []
    for reader in readers:
        text = reader.schemas.get(entry.record_full_name)
        if reader.topic != entry.topic or text is None:
            continue
        found.append(
            ReaderView(
                label=reader.label,
                service=reader.service,
                version=f"{reader.version}+{reader.git_sha}" if reader.git_sha else reader.version,
                consumer_group=reader.consumer_group,
                instance_id=reader.instance_id,
                host=reader.host,
                started_at=_stamp(reader.started_at),
                last_seen=_stamp(reader.last_seen),
                stopped_at=_stamp(reader.stopped_at),
                reads_as=shapes.get(
                    _shape(json.loads(text)), "a schema no version listed here has"
                ),
            )
        )
    return tuple(sorted(found, key=lambda r: (r.service, r.consumer_group, r.last_seen)))


def version_views(
    versions: Sequence[SchemaVersion], origins: Mapping[str, str]
) -> tuple[VersionView, ...]:
    views: list[VersionView] = []
    previous = None
    for version in versions:
        fields = field_views(version.document.root)
        changes = tuple(field_diff(previous, fields)) if previous is not None else ()
        views.append(
            VersionView(
                label=version.label,
                origin=origins.get(version.label, version.document.source.label),
                text=version.document.text,
                fields=fields,
                changes=changes,
                first=previous is None,
            )
        )
        previous = fields
    return tuple(views)


def subject_view(
    manifest: Manifest,
    entry: SchemaEntry,
    versions: Sequence[SchemaVersion],
    readers: Sequence[DeployedReader],
    *,
    origins: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
) -> SubjectView:
    newest = versions[-1]
    root = newest.document.root
    doc = getattr(root, "doc", None) or ""
    return SubjectView(
        subject=entry.subject,
        topic=entry.topic,
        record=entry.record_full_name,
        level=entry.compatibility.value,
        doc=doc,
        file=entry.file.relative_to(manifest.schema_dir).as_posix(),
        fields=field_views(root),
        versions=version_views(versions, origins or {}),
        matrix=compatibility_matrix(versions),
        producers=producers(manifest, entry),
        readers=reader_views(readers, entry, versions),
        notes=tuple(notes),
    )


def topic_views(
    subjects: Sequence[SubjectView],
    settings: Mapping[str, dict[str, str]] | None = None,
    lag: Mapping[str, Sequence[PartitionLag]] | None = None,
    cluster_note: str = "",
) -> tuple[TopicView, ...]:
    topics: dict[str, list[SubjectView]] = {}
    for subject in subjects:
        topics.setdefault(subject.topic, []).append(subject)
    views = []
    for name, members in topics.items():
        writers: dict[str, None] = {}
        for member in members:
            writers.update(dict.fromkeys(member.producers))
        views.append(
            TopicView(
                name=name,
                subjects=tuple(m.subject for m in members),
                producers=tuple(writers),
                settings=(settings or {}).get(name),
                lag=tuple((lag or {}).get(name, ())),
                cluster_note=_note(name, settings, cluster_note),
            )
        )
    return tuple(views)


def _note(topic: str, settings: Mapping[str, dict[str, str]] | None, default: str) -> str:
    if settings is not None and topic not in settings:
        return f"the broker has no topic {topic} (not created yet?)"
    return default


def catalog(
    subjects: Sequence[SubjectView],
    topics: Sequence[TopicView],
    source: str,
    notes: Sequence[str] = (),
) -> Catalog:
    return Catalog(
        title="PlayBall event catalog",
        source=source,
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        topics=tuple(topics),
        subjects=tuple(subjects),
        notes=tuple(notes),
    )
