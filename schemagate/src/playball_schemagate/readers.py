"""The consumer-aware gate: candidate writer schemas against the deployed readers' schemas.

A reader record (published by every consumer built on the runtime, see
``playball_events.readers``) carries the full reader schema of each record type the
instance decodes. The question asked of each is the one no registry asks: can this
reader, exactly as deployed, read what the candidate writer writes? The engine is the
gate's Java-parity one (:func:`~playball_schemagate.compat.check_reader_writer`) with
the reader record's schema as reader and the candidate as writer.

Readers come from the readers topic (``--readers``) or from a snapshot file
(``--readers-file``, written by ``playball readers snapshot``): the same JSON shape.
"""

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playball_core.avro.parser import SchemaParseError, parse_schema
from playball_core.avro.schema import SourceRef
from playball_core.manifest import CompatibilityLevel, SchemaEntry

from playball_schemagate.compat import check_reader_writer
from playball_schemagate.errors import GateInputError
from playball_schemagate.findings import Direction
from playball_schemagate.gate import SubjectReport, resolution_finding
from playball_schemagate.rules import Rule
from playball_schemagate.schema_version import SchemaVersion

DEFAULT_MAX_AGE_DAYS = 7.0
SNAPSHOT_FORMAT = 1


@dataclass(frozen=True, slots=True)
class DeployedReader:
    """One consumer instance, as its reader record describes it."""

    key: str
    service: str
    version: str
    git_sha: str | None
    consumer_group: str
    topic: str
    instance_id: str
    host: str
    started_at: dt.datetime
    last_seen: dt.datetime
    stopped_at: dt.datetime | None
    schemas: Mapping[str, str]  # record full name -> reader schema, Avro JSON text

    @property
    def label(self) -> str:
        """``groups-consumer 1.4.0+abc123, group playball-groups, instance …``."""
        version = f"{self.version}+{self.git_sha}" if self.git_sha else self.version
        return f"{self.service} {version}, group {self.consumer_group}, instance {self.instance_id}"


def _timestamp(value: Any, where: str, *, optional: bool = False) -> dt.datetime | None:
    if value is None and optional:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        msg = f"{where}: not an ISO 8601 timestamp: {value!r}"
        raise GateInputError(msg) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _shown(value: Any) -> str:
    """A reader record's text as an operator's terminal may show it: any principal allowed
    to write the readers topic chooses these strings, so a control character (ESC, bidi)
    is shown as its escape instead of being obeyed."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def reader_from_json(data: Mapping[str, Any], where: str) -> DeployedReader:
    """A reader from its JSON form (``playball readers snapshot``'s entries)."""
    try:
        schemas = {
            _shown(entry["record_name"]): (
                entry["schema"] if isinstance(entry["schema"], str) else json.dumps(entry["schema"])
            )
            for entry in data["readers"]
        }
        started = _timestamp(data["started_at"], where)
        last_seen = _timestamp(data["last_seen"], where)
        assert started is not None and last_seen is not None
        git_sha = data.get("git_sha")
        return DeployedReader(
            key=str(data["key"]),  # kept as written: prune tombstones this very key
            service=_shown(data["service"]),
            version=_shown(data["version"]),
            git_sha=_shown(git_sha) if git_sha else None,
            consumer_group=_shown(data["consumer_group"]),
            topic=_shown(data["topic"]),
            instance_id=_shown(data["instance_id"]),
            host=_shown(data.get("host", "")),
            started_at=started,
            last_seen=last_seen,
            stopped_at=_timestamp(data.get("stopped_at"), where, optional=True),
            schemas=schemas,
        )
    except (KeyError, TypeError) as exc:
        msg = f"{where}: not a reader record: missing or wrong {exc}"
        raise GateInputError(msg) from exc


def readers_from_json(entries: Iterable[Mapping[str, Any]], where: str) -> list[DeployedReader]:
    return [reader_from_json(entry, f"{where}: reader #{n + 1}") for n, entry in enumerate(entries)]


@dataclass(frozen=True, slots=True)
class ReaderSet:
    readers: list[DeployedReader]
    taken_at: dt.datetime | None  # a snapshot's: ages are counted from it, not from now


def load_readers_file(path: Path) -> ReaderSet:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"{path}: cannot read the readers snapshot: {exc}"
        raise GateInputError(msg) from exc
    if not isinstance(data, dict) or not isinstance(data.get("readers"), list):
        msg = f"{path}: not a readers snapshot (a JSON object with a 'readers' list)"
        raise GateInputError(msg)
    taken_at = _timestamp(data.get("taken_at"), str(path), optional=True)
    return ReaderSet(readers_from_json(data["readers"], str(path)), taken_at)


def snapshot_json(readers: Sequence[Mapping[str, Any]], taken_at: dt.datetime) -> str:
    """The committed snapshot's text: stable order, so a re-snapshot diffs cleanly.

    ``taken_at`` is what ``--readers-max-age`` counts from when the gate reads the file:
    a committed snapshot does not go stale by sitting in the repository.
    """
    ordered = sorted(readers, key=lambda entry: str(entry["key"]))
    document = {"format": SNAPSHOT_FORMAT, "taken_at": taken_at.isoformat(), "readers": ordered}
    return json.dumps(document, indent=2) + "\n"


def recent(
    readers: Iterable[DeployedReader], now: dt.datetime, max_age: dt.timedelta
) -> list[DeployedReader]:
    """Readers seen within ``max_age``; stopped ones too: a stopped consumer may come back."""
    return [reader for reader in readers if now - reader.last_seen <= max_age]


def _reader_version(reader: DeployedReader, record_name: str) -> SchemaVersion:
    source = SourceRef(label=f"reader schema of {reader.label}")
    try:
        document = parse_schema(reader.schemas[record_name], source)
    except SchemaParseError as exc:
        msg = f"{reader.label}: its reader schema of {record_name} is invalid: {exc}"
        raise GateInputError(msg) from exc
    return SchemaVersion(label="deployed reader", document=document)


def reader_report(
    subject: str,
    *,
    level: CompatibilityLevel,
    candidate: SchemaVersion,
    reader: DeployedReader,
    record_name: str,
    baseline: str,
) -> SubjectReport:
    """Can ``reader`` (deployed) read what ``candidate`` writes? Findings locate the
    element in the candidate (``file:line:col``) and in the reader's schema."""
    reader_version = _reader_version(reader, record_name)
    result = check_reader_writer(reader_version.document.root, candidate.document.root)
    seen: set[tuple[Rule, str, str]] = set()
    findings = []
    for issue in result.incompatibilities:
        key = (issue.rule, issue.path, issue.message)
        if key not in seen:
            seen.add(key)
            findings.append(
                resolution_finding(issue, reader_version, candidate, Direction.OLD_READS_NEW)
            )
    return SubjectReport(
        subject=subject,
        level=level,
        candidate=candidate,
        baseline=baseline,
        compared=(f"its reader schema of {record_name}",),
        findings=tuple(findings),
    )


def check_against_readers(
    entries: Sequence[SchemaEntry],
    candidates: Mapping[str, SchemaVersion],
    readers: Sequence[DeployedReader],
) -> list[SubjectReport]:
    """Every candidate against every reader of the same record (matched by full name).

    Each distinct reader schema is checked once per candidate: the instances of one
    deployed version (a week of rolling deploys and autoscaling can leave hundreds) carry
    the same schemas, and parsing and checking each again cost ~2 ms apiece. A schema
    that fails is checked again for each of its readers, so that every finding names the
    reader it came from."""
    by_record = {entry.record_full_name: entry for entry in entries}
    readable: set[tuple[str, str]] = set()  # (subject, reader schema) known to read it
    reports = []
    for reader in readers:
        for record_name in sorted(reader.schemas):
            entry = by_record.get(record_name)
            if entry is None:
                continue  # a record the manifest no longer has: no candidate to check
            known = (entry.subject, reader.schemas[record_name])
            baseline = f"deployed reader {reader.label}"
            if known in readable:
                reports.append(
                    SubjectReport(
                        subject=entry.subject,
                        level=entry.compatibility,
                        candidate=candidates[entry.subject],
                        baseline=baseline,
                        compared=(f"its reader schema of {record_name}",),
                        findings=(),
                    )
                )
                continue
            report = reader_report(
                entry.subject,
                level=entry.compatibility,
                candidate=candidates[entry.subject],
                reader=reader,
                record_name=record_name,
                baseline=baseline,
            )
            if not report.findings:
                readable.add(known)
            reports.append(report)
    return reports
