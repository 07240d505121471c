"""The catalog's content from the running system: the registry, the readers topic, the broker.

Versions are the registered ones (``v1``, ``v2``…) and readers those the readers topic holds;
a subject with nothing registered yet shows its working-tree schema. The broker's topic
settings and consumer lag are added when it answers; when it does not, the catalog is
still built, and says why those are missing.
"""

from playball_core.manifest import Manifest
from playball_events.kafka_security import kafka_security
from playball_events.settings import RuntimeSettings, load_settings
from playball_schemagate.contracts import registry_history
from playball_schemagate.readers import readers_from_json
from playball_schemagate.readers_live import live_readers
from playball_schemagate.sources import load_file_version

from playball_catalog.gather import catalog, subject_view, topic_views
from playball_catalog.model import Catalog

UNREGISTERED = "working tree"


def online_catalog(manifest: Manifest) -> Catalog:
    """ConfigurationError on bad settings, RegistryError-like failures from the registry,
    ReadersUnreadableError when the readers topic cannot be read."""
    from playball_catalog.cluster_kafka import (  # noqa: PLC0415 - librdkafka
        ClusterUnreachableError,
        cluster_facts,
    )

    settings = load_settings(RuntimeSettings)
    readers_topic, entries = live_readers()
    readers = readers_from_json(entries, f"readers topic {readers_topic}")
    subjects = []
    with settings.registry_client() as client:
        for entry in manifest.gated:
            versions = registry_history(client, entry.subject)
            notes = []
            if not versions:
                versions = [load_file_version(entry.file, label=UNREGISTERED)]
                notes.append(f"nothing registered under {entry.subject} yet: the working tree")
            subjects.append(subject_view(manifest, entry, versions, readers, notes=notes))
        registry = client.base_url
    topics = sorted({entry.topic for entry in manifest.gated})
    try:
        facts = cluster_facts(settings.kafka_bootstrap, topics, kafka_security(settings))
        views = topic_views(subjects, facts.settings, facts.lag)
    except ClusterUnreachableError as exc:
        views = topic_views(subjects, cluster_note=str(exc))
    return catalog(
        subjects,
        views,
        source=f"online: registry {registry}, readers topic {readers_topic}",
    )
