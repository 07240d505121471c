"""``playball catalog``: the event catalog site, and the AsyncAPI document.

``build`` exits 0 with the index page's path, 2 on bad input (an unreadable manifest,
schema, snapshot or git ref; bad settings), 3 when the registry or the readers topic does
not answer (online; an unreachable broker only leaves settings and lag out, with a note).
``asyncapi`` exits 0 or 2. Heavy modules are imported inside the commands, so
``playball --help`` stays fast.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from playball_core.exits import ExitCode, report_error

if TYPE_CHECKING:
    from playball_core.manifest import Manifest
    from playball_schemagate.readers import DeployedReader

    from playball_catalog.model import Catalog

DEFAULT_READERS_FILE = "readers.json"  # beside the manifest: what `readers snapshot` writes

app = typer.Typer(
    help="The event catalog: a static site of the contracts, and their AsyncAPI document.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
)

SchemasOption = Annotated[
    Path | None,
    typer.Option("--schemas", help="schema directory (default: found from the cwd)"),
]
ReadersFileOption = Annotated[
    Path | None,
    typer.Option(
        "--readers-file",
        help="readers snapshot for --offline and asyncapi (default: readers.json beside the "
        "manifest)",
    ),
]


def _fail(message: str, code: ExitCode) -> NoReturn:
    report_error(message)
    raise typer.Exit(code)


def _manifest(schemas: Path | None) -> "Manifest":
    from playball_core.manifest import ManifestError, load_manifest, resolve_schema_dir  # noqa: PLC0415

    try:
        return load_manifest(resolve_schema_dir(schemas))
    except ManifestError as exc:
        _fail(str(exc), ExitCode.BAD_INPUT)


def _readers_file(manifest: "Manifest", given: Path | None) -> Path | None:
    if given is not None:
        if not given.is_file():
            _fail(f"--readers-file {given}: no such file", ExitCode.BAD_INPUT)
        return given
    default = manifest.schema_dir / DEFAULT_READERS_FILE
    return default if default.is_file() else None


def build_catalog(
    out: Path, *, offline: bool, schemas: Path | None = None, readers_file: Path | None = None
) -> Path:
    """Build the site into ``out``; the index page. Exits (typer.Exit) on failure."""
    from playball_core.avro.parser import SchemaParseError  # noqa: PLC0415
    from playball_core.exits import ConfigurationError, DependencyUnreachableError  # noqa: PLC0415
    from playball_core.registry.errors import RegistryError  # noqa: PLC0415
    from playball_schemagate.errors import GateInputError  # noqa: PLC0415

    from playball_catalog.site import write_site  # noqa: PLC0415

    manifest = _manifest(schemas)
    try:
        content = _content(manifest, offline=offline, readers_file=readers_file)
    except (GateInputError, SchemaParseError, ConfigurationError) as exc:
        _fail(str(exc), ExitCode.BAD_INPUT)
    except (DependencyUnreachableError, RegistryError) as exc:
        # the registry answered with an error, or the registry or the readers topic did
        # not answer: either way the versions or readers the catalog shows are unknown
        _fail(str(exc), ExitCode.UNREACHABLE)
    try:
        return write_site(content, out)
    except OSError as exc:
        _fail(f"cannot write the catalog into {out}: {exc}", ExitCode.BAD_INPUT)


def _content(manifest: "Manifest", *, offline: bool, readers_file: Path | None) -> "Catalog":
    if offline:
        from playball_catalog.offline import offline_catalog  # noqa: PLC0415

        return offline_catalog(manifest, _readers_file(manifest, readers_file))
    from playball_catalog.online import online_catalog  # noqa: PLC0415

    return online_catalog(manifest)


@app.command()
def build(
    out: Annotated[Path, typer.Option("--out", help="directory to write the site into")],
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="from git history and the readers snapshot only (no cluster)"
        ),
    ] = False,
    schemas: SchemasOption = None,
    readers_file: ReadersFileOption = None,
) -> None:
    """Write the event catalog, a static site that opens from the file system.

    Online (the default) it reads the registered versions, the readers topic, the topics'
    settings and the consumer groups' lag; --offline uses the git history and the readers
    snapshot instead.
    """
    index = build_catalog(out, offline=offline, schemas=schemas, readers_file=readers_file)
    typer.echo(f"catalog: {index}")


@app.command("asyncapi")
def asyncapi_command(
    out: Annotated[Path, typer.Option("--out", help="the AsyncAPI document to write (YAML)")],
    schemas: SchemasOption = None,
    readers_file: ReadersFileOption = None,
    bootstrap: Annotated[
        str | None, typer.Option("--bootstrap", help="the server's host:port (default: stack's)")
    ] = None,
    registry_url: Annotated[
        str | None,
        typer.Option("--registry-url", help="the registry's ccompat base (default: stack's)"),
    ] = None,
) -> None:
    """Write the contracts as an AsyncAPI 3.0 document (channels, messages, operations)."""
    from playball_core.addresses import DEFAULT_KAFKA_BOOTSTRAP, DEFAULT_REGISTRY_URL  # noqa: PLC0415

    from playball_catalog.asyncapi import asyncapi_document, to_yaml  # noqa: PLC0415

    manifest = _manifest(schemas)
    document = asyncapi_document(
        manifest,
        out.resolve().parent,
        _snapshot_readers(manifest, readers_file),
        bootstrap=bootstrap or DEFAULT_KAFKA_BOOTSTRAP,
        registry_url=registry_url or DEFAULT_REGISTRY_URL,
    )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(to_yaml(document), encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {out}: {exc}", ExitCode.BAD_INPUT)
    typer.echo(f"asyncapi: {out}")


def _snapshot_readers(manifest: "Manifest", given: Path | None) -> "list[DeployedReader]":
    from playball_schemagate.errors import GateInputError  # noqa: PLC0415
    from playball_schemagate.readers import load_readers_file  # noqa: PLC0415

    path = _readers_file(manifest, given)
    if path is None:
        return []
    try:
        return list(load_readers_file(path).readers)
    except GateInputError as exc:
        _fail(str(exc), ExitCode.BAD_INPUT)
