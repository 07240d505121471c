"""`playball schemas` sub-commands: compat, check, register, status.

Exit codes everywhere: 0 compatible, 1 incompatible (or rejected), 2 invalid input or usage
(bad schema, unknown level, unreadable git ref, a bad ``PLAYBALL_SCHEMA_REGISTRY_URL``),
3 the registry is unreachable.

This module is loaded by every ``playball`` invocation: the engine, the registry client
(httpx) and rich are imported inside the commands (``playball schemas compat`` runs in
git hooks and must start fast).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar
from urllib.parse import urlsplit

import typer
from playball_core.exits import ExitCode

if TYPE_CHECKING:
    from playball_core.registry import RegistryClient

    from playball_schemagate.gate import SubjectReport
    from playball_schemagate.registration import Registration, SubjectStatus
    from playball_schemagate.report import OutputFormat

app = typer.Typer(
    help="Schema compatibility gate and registry workflow for the Avro contracts.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

REGISTRY_URL_VARIABLE = "PLAYBALL_SCHEMA_REGISTRY_URL"
T = TypeVar("T")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
GithubFlag = Annotated[bool, typer.Option("--github", help="Print GitHub workflow annotations.")]
StrictFlag = Annotated[
    bool, typer.Option("--strict", help="Fail on warnings too (logical types, docs...).")
]

PLAIN_FILE_ADVICE = (
    "a subject's history is never rewritten: publish the change as a new major version "
    "(new record namespace, subject and topic, e.g. ...v2) and declare it in "
    "schemas/breaking-changes.toml; see docs/schema-evolution.md"
)


def _fail(message: str, code: ExitCode = ExitCode.BAD_INPUT) -> NoReturn:
    # plain text: an error needs no colour, and rich would cost every failing git hook
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _output_format(json_output: bool, github: bool) -> OutputFormat:
    from playball_schemagate.report import OutputFormat  # noqa: PLC0415

    if json_output and github:
        _fail("--json and --github are exclusive")
    if json_output:
        return OutputFormat.JSON
    return OutputFormat.GITHUB if github else OutputFormat.HUMAN


def _emit(
    reports: Sequence[SubjectReport],
    fmt: OutputFormat,
    *,
    strict: bool,
    json_extra: Mapping[str, object] | None = None,
) -> ExitCode:
    """Print the reports in ``fmt``; the exit code they call for."""
    from playball_schemagate.report import (  # noqa: PLC0415
        OutputFormat,
        all_passed,
        render_github,
        render_human,
        reports_json,
    )

    if fmt is OutputFormat.JSON:
        payload = {**reports_json(reports, strict=strict), **(json_extra or {})}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    elif fmt is OutputFormat.GITHUB:
        sys.stdout.write(render_github(reports, strict=strict) + "\n")
    else:
        from rich.console import Console  # noqa: PLC0415 - colours earn their cost here

        render_human(reports, Console(soft_wrap=True), strict=strict)
    return ExitCode.OK if all_passed(reports, strict=strict) else ExitCode.CHECK_FAILED


def _guarded(action: Callable[[], T]) -> T:
    """Run ``action``; bad input of any kind becomes a message on stderr and exit 2."""
    from playball_core.avro.parser import SchemaParseError  # noqa: PLC0415
    from playball_core.exits import DependencyUnreachableError  # noqa: PLC0415
    from playball_core.manifest import ManifestError  # noqa: PLC0415
    from playball_core.registry import RegistryError, RegistryUnreachableError  # noqa: PLC0415

    from playball_schemagate.errors import GateInputError  # noqa: PLC0415

    try:
        return action()
    except (GateInputError, ManifestError, SchemaParseError) as exc:
        _fail(str(exc))
    except RegistryUnreachableError as exc:
        _fail(str(exc), ExitCode.UNREACHABLE)
    except RegistryError as exc:
        _fail(str(exc))
    except DependencyUnreachableError as exc:  # the readers topic, say
        _fail(str(exc), ExitCode.UNREACHABLE)


@app.command()
def compat(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="OLDEST.avsc ... NEWEST.avsc: the history oldest first, the candidate last."
        ),
    ],
    level: Annotated[
        str, typer.Option("--level", "-l", help="BACKWARD, FULL_TRANSITIVE, NONE, ...")
    ],
    json_output: JsonFlag = False,
    github: GithubFlag = False,
    strict: StrictFlag = False,
) -> None:
    """Check the last .avsc against the ones before it, at a compatibility level."""
    from playball_schemagate.gate import evaluate  # noqa: PLC0415
    from playball_schemagate.levels import parse_level  # noqa: PLC0415
    from playball_schemagate.sources import load_file_version  # noqa: PLC0415

    fmt = _output_format(json_output, github)
    try:
        compat_level = parse_level(level)
    except ValueError as exc:
        _fail(str(exc))
    versions = _guarded(lambda: [load_file_version(path) for path in files])
    candidate, history = versions[-1], versions[:-1]
    report = evaluate(
        subject=candidate.label,
        level=compat_level,
        candidate=candidate,
        history=history,
        baseline="files",
    )
    report = replace(report, advice=PLAIN_FILE_ADVICE)
    raise typer.Exit(_emit([report], fmt, strict=strict))


# -- manifest-level commands -------------------------------------------------------------

SchemasOption = Annotated[
    Path | None,
    typer.Option(
        "--schemas",
        help="Directory holding manifest.toml (default: ./schemas, else the checkout's).",
    ),
]
RegistryUrlOption = Annotated[
    str | None,
    typer.Option(
        "--registry-url",
        help="Confluent-compatible registry API (default: PLAYBALL_SCHEMA_REGISTRY_URL or the "
        "stack's).",
    ),
]


def _schema_dir(option: Path | None) -> Path:
    from playball_core.manifest import resolve_schema_dir  # noqa: PLC0415

    return resolve_schema_dir(option)


def registry_url(option: str | None) -> str:
    """The registry API URL from ``--registry-url``, else the runtime's variable, else the
    stack's default; a value that is no http(s) URL is bad configuration (exit 2), named."""
    from playball_core.addresses import DEFAULT_REGISTRY_URL  # noqa: PLC0415

    # The runtime's variable and default, read directly: the gate is a tool and does not
    # install the runtime library.
    if option is not None:
        url, source = option, "--registry-url"
    else:
        url, source = os.environ.get(REGISTRY_URL_VARIABLE, ""), REGISTRY_URL_VARIABLE
        if not url:
            return DEFAULT_REGISTRY_URL
    problem = _url_problem(url)
    if problem is not None:
        _fail(f"{source}: {problem} (got {url!r}); expected e.g. {DEFAULT_REGISTRY_URL}")
    return url


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parses the port, raising on a bad one
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in {"http", "https"}:
        return "not an http(s) URL"
    if not parts.hostname:
        return "no host in the URL"
    return None


def _registry(url: str | None) -> RegistryClient:
    from playball_core.exits import ConfigurationError  # noqa: PLC0415
    from playball_core.registry.client import (  # noqa: PLC0415
        RegistryClient,
        access_from_environment,
    )

    try:
        basic_auth, ca_location = access_from_environment()
    except ConfigurationError as exc:
        _fail(str(exc))
    return RegistryClient(registry_url(url), basic_auth=basic_auth, ca_location=ca_location)


@app.command()
def check(
    *,
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            help="Git ref whose history is the baseline (default: merge-base with main).",
        ),
    ] = None,
    registry: Annotated[
        bool,
        typer.Option("--registry", help="Also check against the versions in the registry."),
    ] = False,
    schemas: SchemasOption = None,
    registry_url: RegistryUrlOption = None,
    readers: Annotated[
        bool,
        typer.Option(
            "--readers",
            help="Also check against the reader schemas of deployed consumers (the readers "
            "topic, PLAYBALL_READERS_TOPIC).",
        ),
    ] = False,
    readers_file: Annotated[
        Path | None,
        typer.Option(
            "--readers-file",
            help="Check against the readers in this snapshot (`playball readers snapshot`) "
            "instead of the topic: offline, for CI.",
        ),
    ] = None,
    readers_max_age: Annotated[
        float,
        typer.Option(
            "--readers-max-age",
            min=0,
            help="Days: readers last seen longer ago are not checked (stopped ones are).",
        ),
    ] = 7.0,
    require_readers: Annotated[
        bool,
        typer.Option("--require-readers", help="Fail (exit 1) when there is no reader to check."),
    ] = False,
    json_output: JsonFlag = False,
    github: GithubFlag = False,
    strict: StrictFlag = False,
) -> None:
    """Check every manifest schema against git history (and the registry) at its level.

    With --readers or --readers-file, also against every deployed reader of the same
    record: can that reader read what the candidate writes? Exit 1 when one cannot, 3
    when the readers topic cannot be read.
    """
    from playball_schemagate.contracts import (  # noqa: PLC0415
        check_git,
        check_registry,
        load_contracts,
    )
    from playball_schemagate.history_git import resolve_baseline  # noqa: PLC0415
    from playball_schemagate.report import OutputFormat  # noqa: PLC0415

    fmt = _output_format(json_output, github)
    if readers and readers_file is not None:
        _fail("--readers and --readers-file are exclusive")
    checked: list[int] = []  # readers checked, when asked to

    def run() -> list[SubjectReport]:
        from playball_schemagate.readers_check import reader_reports, start_reading  # noqa: PLC0415

        with_readers = readers or readers_file is not None
        deployed = start_reading(readers_file) if with_readers else None
        contracts = load_contracts(_schema_dir(schemas))
        baseline = resolve_baseline(contracts.manifest.schema_dir, against)
        reports = check_git(contracts, baseline)
        if registry:
            with _registry(registry_url) as client:
                client.ping()
                from_registry = check_registry(contracts, client)
            # One subject after the other: its git report, then its registry report.
            reports = [r for pair in zip(reports, from_registry, strict=True) for r in pair]
        if deployed is not None:
            found, from_readers = reader_reports(contracts, deployed(), readers_max_age)
            checked.append(found)
            reports += from_readers
        return reports

    reports = _guarded(run)
    extra = {"readers_checked": checked[0]} if checked else None
    code: int = _emit(reports, fmt, strict=strict, json_extra=extra)
    if checked:
        out = sys.stderr if fmt is not OutputFormat.HUMAN else sys.stdout
        out.write(f"checked {checked[0]} deployed reader(s)\n")
        if not checked[0]:
            typer.echo(
                f"warning: no deployed reader seen within {readers_max_age:g} day(s): "
                "nothing checked against readers",
                err=True,
            )
            if require_readers:
                code = ExitCode.CHECK_FAILED
    raise typer.Exit(code)


@app.command()
def register(
    *,
    schemas: SchemasOption = None,
    registry_url: RegistryUrlOption = None,
    json_output: JsonFlag = False,
    github: GithubFlag = False,
    strict: StrictFlag = False,
) -> None:
    """Register every manifest schema under its subject and set the subject's level.

    Idempotent. Gates every subject against the registered versions first and registers
    nothing if one fails.
    """
    from playball_schemagate.contracts import load_contracts  # noqa: PLC0415
    from playball_schemagate.registration import RegistryRejectedError, register_all  # noqa: PLC0415
    from playball_schemagate.report import OutputFormat  # noqa: PLC0415

    fmt = _output_format(json_output, github)

    topics: list[str] = []

    def run() -> tuple[list[SubjectReport], list[Registration]]:
        contracts = load_contracts(_schema_dir(schemas))
        # the services' topics (each with its .dlq); the readers topic is compacted and
        # has no .dlq: `playball topics ensure` creates it
        topics.extend(dict.fromkeys(entry.topic for entry in contracts.manifest.schemas))
        with _registry(registry_url) as client:
            return register_all(contracts, client, strict=strict)

    try:
        reports, done = _guarded(run)
    except RegistryRejectedError as exc:
        _print_registrations(exc.done, fmt)
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(ExitCode.CHECK_FAILED) from exc
    registered = {"registered": [asdict(registration) for registration in done]}
    code: int = _emit(reports, fmt, strict=strict, json_extra=registered)
    _print_registrations(done, fmt)
    if code != ExitCode.OK and fmt is not OutputFormat.JSON:
        sys.stdout.write("nothing registered: the gate rejected the schemas above\n")
    if code == ExitCode.OK:
        code = _ensure_topics(topics, fmt)
    raise typer.Exit(code)


def _ensure_topics(topics: list[str], fmt: OutputFormat) -> int:
    """Create the registered subjects' topics, when the runtime library is installed.

    Optional and lazy: the gate is deploy tooling and does not depend on the runtime.
    """
    from playball_schemagate.report import OutputFormat  # noqa: PLC0415

    out = sys.stderr if fmt is OutputFormat.JSON else sys.stdout  # keep --json one document
    try:
        from playball_events.cli_topics import ensure_topics  # noqa: PLC0415
    except ImportError:
        out.write("topics not ensured: playball_events is not installed (playball topics ensure)\n")
        return ExitCode.OK
    return ensure_topics(topics, out=out)


def _print_registrations(done: Sequence[Registration], fmt: OutputFormat) -> None:
    from playball_schemagate.report import OutputFormat  # noqa: PLC0415

    if fmt is OutputFormat.JSON:
        return
    for registration in done:
        what = "registered" if registration.created else "unchanged "
        typer.echo(
            f"{what} {registration.subject} version {registration.version} id {registration.id}"
        )


@app.command()
def status(
    *,
    schemas: SchemasOption = None,
    registry_url: RegistryUrlOption = None,
    json_output: JsonFlag = False,
) -> None:
    """A table: subject, local hash, registered version and id, level, compatible?"""
    from rich.console import Console  # noqa: PLC0415 - a table earns rich its cost
    from rich.table import Table  # noqa: PLC0415

    from playball_schemagate.contracts import load_contracts  # noqa: PLC0415
    from playball_schemagate.registration import status as subject_statuses  # noqa: PLC0415

    def run() -> list[SubjectStatus]:
        contracts = load_contracts(_schema_dir(schemas))
        with _registry(registry_url) as client:
            return subject_statuses(contracts, client)

    rows = _guarded(run)
    if json_output:
        sys.stdout.write(json.dumps([_status_json(row) for row in rows], indent=2) + "\n")
        raise typer.Exit(ExitCode.OK)
    table = Table(title="schema subjects")
    for column in ("subject", "local hash", "local registered", "latest", "level", "compatible"):
        table.add_column(column)
    for row in rows:
        table.add_row(*_status_cells(row))
    # Off a terminal (CI logs) rich would squeeze the table into 80 columns.
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def _status_json(row: SubjectStatus) -> dict[str, object]:
    return {
        "subject": row.subject,
        "local_hash": row.local_hash,
        "registered_as": asdict(row.registered_as) if row.registered_as else None,
        "latest": asdict(row.latest) if row.latest else None,
        "manifest_level": row.manifest_level.value,
        "registry_level": row.registry_level.value if row.registry_level else None,
        "compatible": row.report.passed(),
        "findings": len(row.report.findings),
    }


def _status_cells(row: SubjectStatus) -> tuple[str, ...]:
    from rich.markup import escape  # noqa: PLC0415

    registered = (
        f"v{row.registered_as.version} (id {row.registered_as.id})" if row.registered_as else "no"
    )
    latest = f"v{row.latest.version} (id {row.latest.id})" if row.latest else "-"
    level = row.manifest_level.value
    if row.registry_level is not None and row.registry_level is not row.manifest_level:
        level += f" (registry: {row.registry_level.value})"
    if row.report.passed():
        compatible = "yes" if row.latest else "yes (nothing registered)"
    else:
        compatible = f"NO ({len(row.report.errors)} error(s))"
    return (escape(row.subject), row.local_hash, registered, latest, level, compatible)
