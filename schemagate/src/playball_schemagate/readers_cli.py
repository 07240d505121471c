"""`playball readers`: the deployed consumers' reader records (snapshot, list, prune, check).

Exit codes: 0 done (compatible), 1 a reader cannot read a registered writer version
(``check``), 2 bad input, 3 the readers topic or the registry cannot be reached.
Heavy modules are imported inside the commands, so ``playball --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from playball_schemagate.cli import (
    JsonFlag,
    RegistryUrlOption,
    _emit,
    _fail,
    _guarded,
    _registry,
)

if TYPE_CHECKING:
    from playball_schemagate.gate import SubjectReport
    from playball_schemagate.readers import DeployedReader

app = typer.Typer(
    help="Deployed consumers' reader records (the readers topic, PLAYBALL_READERS_TOPIC).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _read() -> tuple[str, list[dict[str, Any]]]:
    from playball_schemagate.readers_live import live_readers  # noqa: PLC0415

    return _guarded(live_readers)


@app.command()
def snapshot(
    out: Annotated[Path, typer.Option("--out", help="File to write, e.g. schemas/readers.json.")],
) -> None:
    """Write the readers on the topic to a file, for `schemas check --readers-file`."""
    import datetime as dt  # noqa: PLC0415

    from playball_schemagate.readers import snapshot_json  # noqa: PLC0415

    topic, entries = _read()
    try:
        out.write_text(snapshot_json(entries, dt.datetime.now(dt.UTC)), encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {out}: {exc}")
    typer.echo(f"wrote {len(entries)} reader(s) from {topic} to {out}")


@app.command("list")
def list_readers(json_output: JsonFlag = False) -> None:
    """Show every reader: service and version, group, topic, instance, when last seen."""
    from playball_schemagate.readers import readers_from_json  # noqa: PLC0415

    topic, entries = _read()
    if json_output:
        sys.stdout.write(json.dumps(entries, indent=2) + "\n")
        return
    readers = _guarded(lambda: readers_from_json(entries, f"readers topic {topic}"))
    if not readers:
        typer.echo(f"no readers on {topic}")
        return
    for reader in readers:
        stopped = reader.stopped_at
        state = f"stopped {stopped:%Y-%m-%d %H:%M:%S}Z" if stopped else "running"
        typer.echo(
            f"{reader.label}, topic {reader.topic}, host {reader.host}: "
            f"last seen {reader.last_seen:%Y-%m-%d %H:%M:%S}Z, {state}; "
            f"records: {', '.join(sorted(reader.schemas))}"
        )


@app.command()
def prune(
    older_than: Annotated[
        float,
        typer.Option("--older-than", min=0, help="Days since last seen: older readers go."),
    ],
) -> None:
    """Write tombstones for the readers last seen more than DAYS ago."""
    import datetime as dt  # noqa: PLC0415

    from playball_schemagate.readers import readers_from_json  # noqa: PLC0415
    from playball_schemagate.readers_live import tombstone  # noqa: PLC0415

    topic, entries = _read()
    readers = _guarded(lambda: readers_from_json(entries, f"readers topic {topic}"))
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=older_than)
    old = [reader for reader in readers if reader.last_seen < cutoff]
    if old:
        _guarded(lambda: tombstone([reader.key for reader in old], topic))
    for reader in old:
        typer.echo(f"pruned {reader.label} (last seen {reader.last_seen:%Y-%m-%d %H:%M:%S}Z)")
    typer.echo(f"{len(old)} of {len(readers)} reader(s) pruned from {topic}")


@app.command()
def check(
    registry_url: RegistryUrlOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Each deployed reader against every registered writer version of its subjects.

    A compacted topic can replay any version to a consumer starting from the beginning.
    """
    from playball_schemagate.readers import readers_from_json  # noqa: PLC0415
    from playball_schemagate.report import OutputFormat  # noqa: PLC0415

    topic, entries = _read()
    readers = _guarded(lambda: readers_from_json(entries, f"readers topic {topic}"))
    reports = _guarded(lambda: _check_registered(readers, registry_url))
    fmt = OutputFormat.JSON if json_output else OutputFormat.HUMAN
    code = _emit(reports, fmt, strict=False, json_extra={"readers_checked": len(readers)})
    typer.echo(f"checked {len(readers)} deployed reader(s)", err=fmt is OutputFormat.JSON)
    raise typer.Exit(code)


def _check_registered(
    readers: list[DeployedReader], registry_url: str | None
) -> list[SubjectReport]:
    from playball_core.manifest import CompatibilityLevel, topic_record_subject  # noqa: PLC0415

    from playball_schemagate.contracts import registry_history  # noqa: PLC0415
    from playball_schemagate.readers import reader_report  # noqa: PLC0415

    reports: list[SubjectReport] = []
    with _registry(registry_url) as client:
        for reader in readers:
            for record_name in sorted(reader.schemas):
                subject = topic_record_subject(reader.topic, record_name)
                level = client.level(subject) or CompatibilityLevel.BACKWARD
                reports.extend(
                    reader_report(
                        subject,
                        level=level,
                        candidate=writer,
                        reader=reader,
                        record_name=record_name,
                        baseline=f"deployed reader {reader.label}",
                    )
                    for writer in registry_history(client, subject)
                )
    return reports
