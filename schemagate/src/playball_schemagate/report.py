"""Three renderings of the same reports: human (rich, per subject), JSON, GitHub annotations."""

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.markup import escape

from playball_schemagate.findings import Finding, Location, Severity
from playball_schemagate.gate import SubjectReport


class OutputFormat(StrEnum):
    HUMAN = "human"
    JSON = "json"
    GITHUB = "github"


def all_passed(reports: Sequence[SubjectReport], *, strict: bool) -> bool:
    return all(report.passed(strict=strict) for report in reports)


# -- human -------------------------------------------------------------------------------


def _finding_lines(finding: Finding) -> list[str]:
    colour = "red" if finding.severity is Severity.ERROR else "yellow"
    where = f" at {escape(str(finding.location))}" if finding.location else ""
    lines = [
        f"  [{colour}]{finding.severity.value:<7}[/] [bold]{finding.rule.value}[/] "
        f"[cyan]{escape(finding.path)}[/]{where}",
        f"          {escape(finding.message)}",
    ]
    context = [f"{escape(finding.old_version)} -> {escape(finding.new_version)}"]
    if finding.direction:
        context.insert(0, finding.direction.explanation)
    if finding.counterpart and finding.counterpart.position:
        context.append(f"old: {escape(str(finding.counterpart))}")
    lines.append(f"          [dim]{' · '.join(context)}[/]")
    lines.append(f"          [green]fix:[/] {escape(finding.hint)}")
    return lines


def render_human(reports: Sequence[SubjectReport], console: Console, *, strict: bool) -> None:
    for report in reports:
        ok = report.passed(strict=strict)
        badge = "[bold green]PASS[/]" if ok else "[bold red]FAIL[/]"
        against = ", ".join(report.compared) if report.compared else "nothing"
        console.print(
            f"{badge} [bold]{escape(report.subject)}[/] ({report.level.value}; "
            f"{escape(report.candidate.label)} against {escape(report.baseline)}: "
            f"{escape(against)})",
            highlight=False,  # our own markup only: rich's highlighter costs ~0.5 ms a line
        )
        for note in report.notes:
            console.print(f"  [dim]note:[/] {escape(note)}")
        for finding in report.findings:
            for line in _finding_lines(finding):
                console.print(line, highlight=False)
        if report.advice and report.compatibility_errors:
            console.print(f"  [magenta]intentional break?[/] {escape(report.advice)}")
    failed = sum(not report.passed(strict=strict) for report in reports)
    warnings = sum(len(report.warnings) for report in reports)
    errors = sum(len(report.errors) for report in reports)
    verdict = "[bold red]incompatible[/]" if failed else "[bold green]compatible[/]"
    console.print(
        f"{verdict}: {failed} of {len(reports)} subject(s) failed, "
        f"{errors} error(s), {warnings} warning(s){' (strict)' if strict else ''}"
    )


# -- JSON --------------------------------------------------------------------------------


def _location_json(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {
        "source": location.label,
        "file": location.file,
        "line": location.position.line if location.position else None,
        "col": location.position.col if location.position else None,
    }


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule.value,
        "severity": finding.severity.value,
        "path": finding.path,
        "message": finding.message,
        "hint": finding.hint,
        "old_version": finding.old_version,
        "new_version": finding.new_version,
        "direction": finding.direction.value if finding.direction else None,
        "location": _location_json(finding.location),
        "counterpart": _location_json(finding.counterpart),
    }


def reports_json(reports: Sequence[SubjectReport], *, strict: bool) -> dict[str, Any]:
    return {
        "compatible": all_passed(reports, strict=strict),
        "strict": strict,
        "subjects": [
            {
                "subject": report.subject,
                "level": report.level.value,
                "candidate": report.candidate.label,
                "baseline": report.baseline,
                "compared": list(report.compared),
                "passed": report.passed(strict=strict),
                "notes": list(report.notes),
                "advice": report.advice if report.compatibility_errors else None,
                "findings": [_finding_json(finding) for finding in report.findings],
            }
            for report in reports
        ],
    }


# -- GitHub workflow commands ------------------------------------------------------------


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(report: SubjectReport, finding: Finding, *, strict: bool) -> str:
    level = "error" if finding.severity is Severity.ERROR or strict else "warning"
    props: list[str] = []
    location = finding.location
    if location and location.file:
        props.append(f"file={_escape_property(location.file)}")
        if location.position:
            props.append(f"line={location.position.line}")
            props.append(f"col={location.position.col}")
    props.append(f"title={_escape_property(f'{finding.rule.value} {finding.path}')}")
    message = f"{report.subject}: {finding.message} ({finding.compared}"
    if finding.direction:
        message += f"; {finding.direction.explanation}"
    message += f"). Fix: {finding.hint}"
    return f"::{level} {','.join(props)}::{_escape_data(message)}"


def _notice(report: SubjectReport, note: str) -> str:
    # Notes say what the check could not see (no baseline, shallow clone): visible in the
    # run's summary, not only in its log.
    return f"::notice title={_escape_property(report.subject)}::{_escape_data(note)}"


def render_github(reports: Sequence[SubjectReport], *, strict: bool) -> str:
    lines: list[str] = []
    for report in reports:
        lines.extend(_notice(report, note) for note in report.notes)
        lines.extend(_annotation(report, finding, strict=strict) for finding in report.findings)
        if report.advice and report.compatibility_errors:
            lines.append(_notice(report, f"intentional break? {report.advice}"))
        status = "PASS" if report.passed(strict=strict) else "FAIL"
        lines.append(f"{status} {report.subject} ({report.level.value}, against {report.baseline})")
    return "\n".join(lines)
