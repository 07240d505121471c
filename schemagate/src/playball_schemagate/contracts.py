"""The manifest's subjects, their working-tree schemas, and the gate against each baseline."""

from dataclasses import dataclass, replace
from pathlib import Path

from playball_core.avro.parser import parse_schema
from playball_core.avro.schema import SourceRef
from playball_core.manifest import Manifest, ManifestError, SchemaEntry, load_manifest
from playball_core.registry import RegistryClient
from playball_core.registry.port import history

from playball_schemagate.breaking import (
    load_declarations,
    major_version_advice,
    undeclared_major_versions,
    validate_declarations,
)
from playball_schemagate.errors import GateInputError
from playball_schemagate.findings import Finding, Location, Severity
from playball_schemagate.gate import SubjectReport, evaluate
from playball_schemagate.hints import hint_for
from playball_schemagate.history_git import GitBaseline, file_history
from playball_schemagate.rules import Rule
from playball_schemagate.schema_version import SchemaVersion
from playball_schemagate.sources import load_file_version

WORKING_TREE = "working tree"


@dataclass(frozen=True, slots=True)
class Contracts:
    manifest: Manifest
    candidates: dict[str, SchemaVersion]  # subject -> the working-tree schema
    undeclared: dict[str, str]  # subject -> why it needs a breaking-changes declaration

    def entries(self) -> tuple[SchemaEntry, ...]:
        """The contracts and the runtime's own records (reader records): all are gated."""
        return self.manifest.gated


def load_contracts(schema_dir: Path) -> Contracts:
    """Manifest, every schema it names (parsed), and the breaking-change declarations."""
    try:
        manifest = load_manifest(schema_dir)
    except ManifestError as exc:
        raise GateInputError(str(exc)) from exc
    candidates = {
        entry.subject: load_file_version(entry.file, label=WORKING_TREE) for entry in manifest.gated
    }
    declarations = load_declarations(manifest.schema_dir)
    validate_declarations(declarations, manifest, manifest.schema_dir)
    return Contracts(
        manifest=manifest,
        candidates=candidates,
        undeclared=undeclared_major_versions(manifest, declarations),
    )


def _with_manifest_rules(
    report: SubjectReport, entry: SchemaEntry, contracts: Contracts
) -> SubjectReport:
    findings = list(report.findings)
    reason = contracts.undeclared.get(entry.subject)
    if reason is not None:
        candidate = report.candidate.document
        findings.append(
            Finding(
                rule=Rule.UNDECLARED_MAJOR_VERSION,
                severity=Severity.ERROR,
                path="name",
                message=reason,
                hint=hint_for(Rule.UNDECLARED_MAJOR_VERSION, None, entry.subject),
                old_version="manifest",
                new_version=report.candidate.label,
                location=Location(
                    label=candidate.source.label,
                    position=candidate.position_of(("name",)),
                    file=candidate.source.file,
                ),
            )
        )
    return replace(report, findings=tuple(findings), advice=major_version_advice(entry))


def check_git(contracts: Contracts, baseline: GitBaseline) -> list[SubjectReport]:
    reports = []
    for entry in contracts.entries():
        history = file_history(baseline, entry.file)
        report = evaluate(
            subject=entry.subject,
            level=entry.compatibility,
            candidate=contracts.candidates[entry.subject],
            history=history.versions,
            baseline=baseline.label,
            notes=history.notes,
        )
        reports.append(_with_manifest_rules(report, entry, contracts))
    return reports


def registry_history(client: RegistryClient, subject: str) -> list[SchemaVersion]:
    versions = []
    for registered in history(client, subject):
        label = f"v{registered.version}"
        source = SourceRef(label=f"registry {subject} {label} (id {registered.id})")
        versions.append(
            SchemaVersion(label=label, document=parse_schema(registered.schema, source))
        )
    return versions


def check_registry(
    contracts: Contracts, client: RegistryClient, *, manifest_rules: bool = False
) -> list[SubjectReport]:
    """Each working-tree schema against the versions registered under its subject."""
    reports = []
    for entry in contracts.entries():
        history = registry_history(client, entry.subject)
        notes = [] if history else [f"nothing registered under {entry.subject} yet"]
        registry_level = client.level(entry.subject) if history else None
        if registry_level is not None and registry_level is not entry.compatibility:
            notes.append(
                f"the registry holds level {registry_level.value} for this subject; "
                f"`playball schemas register` sets the manifest's {entry.compatibility.value}"
            )
        report = evaluate(
            subject=entry.subject,
            level=entry.compatibility,
            candidate=contracts.candidates[entry.subject],
            history=history,
            baseline=f"registry {client.base_url}",
            notes=notes,
        )
        report = _with_manifest_rules(report, entry, contracts)
        if not manifest_rules:
            report = replace(
                report,
                findings=tuple(
                    f for f in report.findings if f.rule is not Rule.UNDECLARED_MAJOR_VERSION
                ),
            )
        reports.append(report)
    return reports
