"""The ``topics`` module: the manifest's topics and subjects, tied to the generated classes.

Services take topic names, subjects and the record classes a topic carries from here, so
no service code spells a topic or a subject, and a manifest change shows up as a
generated diff that ``playball codegen check`` catches.
"""

import re

from playball_core.manifest import Manifest

# The classes each topic is built from: hand-written, in the runtime library.
TOPIC_CLASSES_MODULE = "playball_events.contract_topics"


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
    exported = sorted(["ALL_TOPICS", *map(constant_name, by_topic)])
    names = "".join(f"\n    {name!r}," for name in exported)
    return (
        f"{header}\n"
        f'"""Topics and subjects of the contracts, as `{manifest.path.name}` declares them."""\n\n'
        f"from {TOPIC_CLASSES_MODULE} import Subject, Topic\n"
        f"from {package}.records import ({imports}\n)\n\n"
        f"__all__ = [{names}\n]\n\n"
        + "\n\n".join(constants)
        + f"\n\nALL_TOPICS: tuple[Topic, ...] = ({all_topics},)\n"
    )
