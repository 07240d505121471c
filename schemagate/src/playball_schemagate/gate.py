"""The gate for one subject: a candidate against its history at a level -> a report."""

from collections.abc import Sequence
from dataclasses import dataclass

from playball_core.avro.jsonpos import Pointer
from playball_core.avro.schema import SchemaDocument
from playball_core.manifest import CompatibilityLevel

from playball_schemagate.compat import Incompatibility, check_reader_writer
from playball_schemagate.findings import Direction, Finding, Location, Severity
from playball_schemagate.hints import hint_for
from playball_schemagate.levels import plan_checks
from playball_schemagate.lint import LintIssue, lint_change
from playball_schemagate.rules import LINT_ERRORS, Rule
from playball_schemagate.schema_version import SchemaVersion


@dataclass(frozen=True, slots=True)
class SubjectReport:
    subject: str  # the registry subject, or the file name for plain-file checks
    level: CompatibilityLevel
    candidate: SchemaVersion
    baseline: str  # where the history came from: "git 3f2a9c1", "registry", "files"
    compared: tuple[str, ...]  # labels of the versions the candidate was checked against
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()  # "no baseline", skipped versions...
    advice: str | None = None  # how to make the change as a new major version instead

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def compatibility_errors(self) -> tuple[Finding, ...]:
        """The errors a reader meets (a reader/writer pair), not the lint's: only these a
        new major version would answer (``advice``)."""
        return tuple(f for f in self.errors if f.direction is not None)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    def passed(self, *, strict: bool = False) -> bool:
        return not self.errors and not (strict and self.warnings)


def _location(document: SchemaDocument, pointer: Pointer | None) -> Location:
    return Location(
        label=document.source.label,
        position=document.position_of(pointer) if pointer is not None else None,
        file=document.source.file,
    )


def resolution_finding(
    issue: Incompatibility, old: SchemaVersion, new: SchemaVersion, direction: Direction
) -> Finding:
    if direction is Direction.NEW_READS_OLD:  # the candidate is the reader
        here, there = issue.reader_pointer, issue.writer_pointer
    else:
        here, there = issue.writer_pointer, issue.reader_pointer
    return Finding(
        rule=issue.rule,
        severity=Severity.ERROR,
        path=issue.path,
        message=issue.message,
        hint=hint_for(issue.rule, direction, issue.subject),
        old_version=old.label,
        new_version=new.label,
        direction=direction,
        location=_location(new.document, here),
        counterpart=_location(old.document, there),
    )


def _lint_finding(issue: LintIssue, old: SchemaVersion | None, new: SchemaVersion) -> Finding:
    return Finding(
        rule=issue.rule,
        severity=Severity.ERROR if issue.rule in LINT_ERRORS else Severity.WARNING,
        path=issue.path,
        message=issue.message,
        hint=hint_for(issue.rule, None, issue.subject),
        old_version=old.label if old else "(none)",
        new_version=new.label,
        location=_location(new.document, issue.new_pointer),
        counterpart=_location(old.document, issue.old_pointer) if old else None,
    )


def compare(
    candidate: SchemaVersion, history: Sequence[SchemaVersion], level: CompatibilityLevel
) -> list[Finding]:
    """Every finding of ``candidate`` against ``history`` (oldest first) at ``level``."""
    findings: list[Finding] = []
    for check in plan_checks(level, history):
        if check.direction is Direction.NEW_READS_OLD:
            result = check_reader_writer(candidate.document.root, check.old.document.root)
        else:
            result = check_reader_writer(check.old.document.root, candidate.document.root)
        seen: set[tuple[Rule, str, str]] = set()
        for issue in result.incompatibilities:
            key = (issue.rule, issue.path, issue.message)
            if key not in seen:  # Java repeats a shared named type's faults; say them once
                seen.add(key)
                findings.append(resolution_finding(issue, check.old, candidate, check.direction))
    findings.extend(
        Finding(
            rule=Rule.SCHEMA_WARNING,
            severity=Severity.WARNING,
            path="(schema)",
            message=warning.message,
            hint=hint_for(Rule.SCHEMA_WARNING, None, ""),
            old_version=history[-1].label if history else "(none)",
            new_version=candidate.label,
            location=_location(candidate.document, warning.pointer),
        )
        for warning in candidate.document.warnings
    )
    predecessor = history[-1] if history else None
    root_before = predecessor.document.root if predecessor else None
    findings.extend(
        _lint_finding(issue, predecessor, candidate)
        for issue in lint_change(root_before, candidate.document.root)
    )
    return findings


def evaluate(
    *,
    subject: str,
    level: CompatibilityLevel,
    candidate: SchemaVersion,
    history: Sequence[SchemaVersion],
    baseline: str,
    notes: Sequence[str] = (),
) -> SubjectReport:
    return SubjectReport(
        subject=subject,
        level=level,
        candidate=candidate,
        baseline=baseline,
        compared=tuple(version.label for version in history),
        findings=tuple(compare(candidate, history, level)),
        notes=tuple(notes),
    )
