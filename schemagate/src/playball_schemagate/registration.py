"""Registering the manifest's schemas, and comparing local schemas with the registry.

Registration is all or nothing as far as we decide it: every subject is read and gated
before the first write, so bad input or a rejected schema registers nothing. Re-running it
is harmless: a schema already registered is looked up, not registered again.
"""

import hashlib
from dataclasses import dataclass

from playball_core.manifest import CompatibilityLevel
from playball_core.registry import (
    IncompatibleSchemaError,
    RegisteredSchema,
    RegistryClient,
    minified,
)

from playball_schemagate.contracts import Contracts, check_registry
from playball_schemagate.gate import SubjectReport


@dataclass(frozen=True, slots=True)
class Registration:
    subject: str
    id: int
    version: int | None
    created: bool  # False: it was registered already


class RegistryRejectedError(Exception):
    """The registry refused a schema our gate accepted (a parity gap: report it)."""

    def __init__(self, subject: str, message: str, done: list[Registration]) -> None:
        super().__init__(f"the registry rejected {subject}: {message}")
        self.subject = subject
        self.done = done


def local_hash(contracts: Contracts, subject: str) -> str:
    """A short hash of the schema as it is registered (formatting does not change it)."""
    text = minified(contracts.candidates[subject].document.text)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def register_all(
    contracts: Contracts, client: RegistryClient, *, strict: bool
) -> tuple[list[SubjectReport], list[Registration]]:
    """Gate every subject against the registry, then register; nothing if any fails."""
    client.ping()
    reports = check_registry(contracts, client, manifest_rules=True)
    if not all(report.passed(strict=strict) for report in reports):
        return reports, []
    # Levels first, for every subject: a registry refusing a level (permissions, a level it
    # does not know) then stops us before anything is registered. A subject configured with
    # another level is brought back to the manifest's here.
    for entry in contracts.entries():
        client.set_level(entry.subject, entry.compatibility)
    done: list[Registration] = []
    for entry in contracts.entries():
        text = minified(contracts.candidates[entry.subject].document.text)
        existing = client.lookup(entry.subject, text)
        if existing is not None:
            done.append(Registration(entry.subject, existing.id, existing.version, created=False))
            continue
        try:
            schema_id = client.register(entry.subject, text)
        except IncompatibleSchemaError as exc:
            raise RegistryRejectedError(entry.subject, str(exc), done) from exc
        found = client.lookup(entry.subject, text)
        done.append(
            Registration(entry.subject, schema_id, found.version if found else None, created=True)
        )
    return reports, done


@dataclass(frozen=True, slots=True)
class SubjectStatus:
    subject: str
    local_hash: str
    registered_as: RegisteredSchema | None  # the local schema, if registered
    latest: RegisteredSchema | None
    manifest_level: CompatibilityLevel
    registry_level: CompatibilityLevel | None
    report: SubjectReport  # the gate against the registered versions


def status(contracts: Contracts, client: RegistryClient) -> list[SubjectStatus]:
    client.ping()
    reports = {r.subject: r for r in check_registry(contracts, client)}
    rows = []
    for entry in contracts.entries():
        text = minified(contracts.candidates[entry.subject].document.text)
        versions = client.versions(entry.subject)
        rows.append(
            SubjectStatus(
                subject=entry.subject,
                local_hash=local_hash(contracts, entry.subject),
                registered_as=client.lookup(entry.subject, text) if versions else None,
                latest=client.version(entry.subject, versions[-1]) if versions else None,
                manifest_level=entry.compatibility,
                registry_level=client.level(entry.subject) if versions else None,
                report=reports[entry.subject],
            )
        )
    return rows
