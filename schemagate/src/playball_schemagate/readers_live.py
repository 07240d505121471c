"""Reader records from the readers topic, through the runtime library when installed.

Optional and lazy, like `schemas register`'s topic hook: the gate is deploy tooling and
does not depend on the runtime; without it, ``--readers-file`` still works offline.
"""

from typing import Any

from playball_core.exits import ConfigurationError, DependencyUnreachableError

from playball_schemagate.errors import GateInputError


class ReadersUnreadableError(DependencyUnreachableError):
    """The readers topic could not be read (exit 3)."""


def live_readers(topic: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The readers topic's name and its reader records, JSON-able, read as the admin."""
    try:
        from playball_events.readers.admin import reader_set  # noqa: PLC0415
        from playball_events.readers.readers_kafka import ReadersTopicError  # noqa: PLC0415
    except ImportError as exc:
        msg = "reading the readers topic needs playball_events installed; use --readers-file"
        raise GateInputError(msg) from exc
    try:
        return reader_set(topic)
    except ReadersTopicError as exc:
        raise ReadersUnreadableError(str(exc)) from exc
    except ConfigurationError as exc:
        raise GateInputError(str(exc)) from exc


def tombstone(keys: list[str], topic: str | None = None) -> str:
    try:
        from playball_events.readers.admin import tombstone as write  # noqa: PLC0415
        from playball_events.readers.readers_kafka import ReadersTopicError  # noqa: PLC0415
    except ImportError as exc:
        msg = "pruning the readers topic needs playball_events installed"
        raise GateInputError(msg) from exc
    try:
        return write(keys, topic)
    except ReadersTopicError as exc:
        raise ReadersUnreadableError(str(exc)) from exc
    except ConfigurationError as exc:
        raise GateInputError(str(exc)) from exc
