"""The catalog's content from the git history and the readers snapshot alone (``--offline``).

Every committed version of each schema file up to ``HEAD`` (the gate's own git reading,
:func:`~playball_schemagate.history_git.file_history`), then the working tree's when it
differs; the readers from the snapshot ``playball readers snapshot`` wrote. The broker is
not asked, so topics show no settings and no lag.
"""

from pathlib import Path

from playball_core.manifest import Manifest
from playball_schemagate.history_git import file_history, resolve_baseline
from playball_schemagate.readers import load_readers_file
from playball_schemagate.sources import load_file_version

from playball_catalog.gather import catalog, subject_view, topic_views
from playball_catalog.model import Catalog

WORKING_TREE = "working tree"
OFFLINE_NOTE = "offline build: the broker was not asked (no settings, no consumer lag)"


def offline_catalog(manifest: Manifest, readers_file: Path | None) -> Catalog:
    baseline = resolve_baseline(manifest.schema_dir, None)
    readers = []
    notes = []
    if readers_file is not None and readers_file.is_file():
        readers = load_readers_file(readers_file).readers
    else:
        notes.append("no readers snapshot: `playball readers snapshot --out FILE` writes one")
    subjects = []
    for entry in manifest.gated:
        history = file_history(baseline, entry.file)
        versions = list(history.versions)
        current = load_file_version(entry.file, label=WORKING_TREE)
        if not versions or versions[-1].document.text != current.document.text:
            versions.append(current)
        origins = {v.label: v.document.source.label for v in versions if v.label != WORKING_TREE}
        subjects.append(
            subject_view(manifest, entry, versions, readers, origins=origins, notes=history.notes)
        )
    return catalog(
        subjects,
        topic_views(subjects, cluster_note=OFFLINE_NOTE),
        source=f"offline: {baseline.label}, readers from "
        + (readers_file.name if readers_file is not None and readers else "no snapshot"),
        notes=notes,
    )
