"""Who writes a topic, from the manifest alone.

The manifest names no producer, but it names topics after their owners: a contract topic
is ``<org>.<service>.<name>.v<major>`` (``playball.auth.user-events.v1``), written by that
service through its outbox and nobody else. Runtime-owned records (the readers topic) are
written by every consumer built on the runtime.
"""

from playball_core.manifest import Manifest, SchemaEntry

RUNTIME_PRODUCER = "every consumer built on playball_events"


def owner_service(topic: str) -> str | None:
    parts = topic.split(".")
    return parts[1] if len(parts) >= 3 and all(parts) else None


def producers(manifest: Manifest, entry: SchemaEntry) -> tuple[str, ...]:
    if entry in manifest.runtime:
        return (RUNTIME_PRODUCER,)
    owner = owner_service(entry.topic)
    return (f"{owner} service",) if owner else ()
