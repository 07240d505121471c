"""What a schema registry offers, as a protocol both the client and the fake satisfy."""

import json
from dataclasses import dataclass
from typing import Protocol

from playball_core.manifest import CompatibilityLevel


@dataclass(frozen=True, slots=True)
class RegisteredSchema:
    subject: str
    version: int
    id: int
    schema: str


class SchemaRegistry(Protocol):
    def subjects(self) -> list[str]:
        """Every subject with at least one version."""
        ...

    def versions(self, subject: str) -> list[int]:
        """Version numbers of ``subject``, ascending; [] for an unknown subject."""
        ...

    def version(self, subject: str, version: int | str) -> RegisteredSchema:
        """One version (a number or ``"latest"``); :class:`RegistryResponseError` if absent."""
        ...

    def lookup(self, subject: str, schema: str) -> RegisteredSchema | None:
        """The version under which this schema is registered in ``subject``, else None."""
        ...

    def register(self, subject: str, schema: str) -> int:
        """Register ``schema`` under ``subject`` (idempotent) and return its id."""
        ...

    def schema_by_id(self, schema_id: int) -> str:
        """The schema text with this id; :class:`UnknownSchemaIdError` if there is none."""
        ...

    def set_level(self, subject: str, level: CompatibilityLevel) -> None:
        """Set the subject's compatibility level."""
        ...

    def level(self, subject: str) -> CompatibilityLevel | None:
        """The subject's level, else the global one; None when neither is set."""
        ...

    def is_compatible(self, subject: str, schema: str) -> bool:
        """The registry's own verdict against the latest version, at the subject's level."""
        ...


def history(registry: SchemaRegistry, subject: str) -> list[RegisteredSchema]:
    """Every registered version of ``subject``, oldest first."""
    return [registry.version(subject, number) for number in registry.versions(subject)]


def minified(schema_text: str) -> str:
    """The schema as one line of JSON, as it is registered (whitespace is not meaningful)."""
    return json.dumps(json.loads(schema_text), separators=(",", ":"), ensure_ascii=False)
