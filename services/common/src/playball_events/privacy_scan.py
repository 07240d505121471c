"""What an erasure scan reports: where a user's personal data still is, never the data.

Each service scans only its own data (``playball auth privacy scan USER_ID --json``,
``playball groups privacy scan USER_ID --json``) and ``playball privacy audit`` adds the
topics; all of them speak this one document, so the audit reads the services' answers
without importing them::

    {"user_id": "…",
     "places": [{"location": "auth.users", "error": null,
                 "findings": [{"position": "id 3f…", "fields": ["username", "email"]}]}]}

A place is one table or topic; a finding is one row or message in it, with the names of
the fields that hold the user's personal data (those tagged ``PII`` in the schemas,
:func:`personal_fields_held`). A place that could not be read carries its ``error``.
Values are never part of a report: it is printed, logged and kept.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from playball_core.exits import ExitCode

from playball_events.redaction import personal_fields
from playball_events.terminal_text import escape_controls

UNDECODABLE = "(undecodable: may hold personal data)"


@dataclass(frozen=True, slots=True)
class Finding:
    """One row or message holding personal data, and which of its fields do."""

    position: str  # "id 3f…", "seq 12 (sent)", "partition 3 offset 17"
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Place:
    """A table or topic scanned: what it still holds of the user, or why it was not read."""

    location: str  # "auth.users", "kafka playball.auth.user-events.v1.dlq"
    findings: tuple[Finding, ...] = ()
    error: str | None = None  # unreachable: the scan could not look


@dataclass(frozen=True, slots=True)
class ScanReport:
    user_id: str
    places: tuple[Place, ...] = field(default_factory=tuple)

    @property
    def findings(self) -> list[tuple[Place, Finding]]:
        return [(place, finding) for place in self.places for finding in place.findings]

    @property
    def unreachable(self) -> list[Place]:
        return [place for place in self.places if place.error is not None]

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "places": [
                {
                    "location": place.location,
                    "error": place.error,
                    "findings": [
                        {"position": f.position, "fields": list(f.fields)} for f in place.findings
                    ],
                }
                for place in self.places
            ],
        }

    @classmethod
    def from_json(cls, document: Any) -> "ScanReport":
        """A report as :meth:`to_json` wrote it; ValueError naming what is wrong."""
        if not isinstance(document, Mapping) or not isinstance(document.get("places"), list):
            msg = "not a scan report: no list of places"
            raise ValueError(msg)
        places = [_place(raw) for raw in document["places"]]
        return cls(str(document.get("user_id", "")), tuple(places))


def _place(raw: Any) -> Place:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("location"), str):
        msg = "not a scan report: a place without a location"
        raise ValueError(msg)
    findings = []
    for item in raw.get("findings") or []:
        if not isinstance(item, Mapping) or not isinstance(item.get("fields"), list):
            msg = f"not a scan report: a finding of {raw['location']} without fields"
            raise ValueError(msg)
        findings.append(Finding(str(item.get("position", "")), tuple(map(str, item["fields"]))))
    error = raw.get("error")
    return Place(raw["location"], tuple(findings), None if error is None else str(error))


def personal_fields_held(record: object) -> tuple[str, ...]:
    """The fields of a decoded record that are tagged ``PII`` and hold a value.

    An empty string or a null is nothing personal; anything else is, whatever it says.
    """
    return tuple(
        name
        for name in personal_fields(record)
        if getattr(record, name, None) not in (None, "", b"")
    )


def held_fields(values: Mapping[Any, object], names: Iterable[str]) -> tuple[str, ...]:
    """Of ``names``, those whose value in ``values`` (a database row) is set."""
    return tuple(name for name in names if values.get(name) not in (None, "", b""))


def report_lines(report: ScanReport) -> list[str]:
    """A report for people: each place, its findings' positions and fields, no values."""
    lines = [f"user {report.user_id}:"]
    for place in report.places:
        if place.error is not None:
            lines.append(f"  {place.location}: UNREACHABLE: {escape_controls(place.error)}")
        elif not place.findings:
            lines.append(f"  {place.location}: nothing")
        for finding in place.findings:
            lines.append(f"  {place.location}: {finding.position}: {', '.join(finding.fields)}")
    return lines


def exit_code(report: ScanReport) -> int:
    """0 nothing found, 1 personal data found, 3 a place could not be read (and nothing
    was found elsewhere): found data is the stronger news."""
    if report.findings:
        return ExitCode.CHECK_FAILED
    if report.unreachable:
        return ExitCode.UNREACHABLE
    return ExitCode.OK


def rendered(report: ScanReport, *, as_json: bool) -> str:
    """The report as printed: one JSON document, or :func:`report_lines`."""
    if as_json:
        return json.dumps(report.to_json(), indent=2)
    return "\n".join(report_lines(report))
