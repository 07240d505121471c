"""`playball codegen` sub-commands.

Exit codes: 0 done (or up to date), 1 generated files are stale, 2 bad input (an invalid
schema, a bad manifest, a bad option).
"""

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from playball_core.exits import ExitCode

app = typer.Typer(
    help="Generate typed Python classes from Avro schemas.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

SchemasOption = Annotated[
    Path | None,
    typer.Option(
        "--schemas",
        help="schema directory with manifest.toml (default: found from the current directory)",
    ),
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(ExitCode.BAD_INPUT)


def _warn(warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)


def _manifest_targets(schemas: Path | None) -> list[tuple[Path, Path, str]]:
    """Schema dir, out dir and package of the manifest's [codegen] table, then of its
    [runtime.codegen] table (the runtime's own records, from the runtime schemas' dir)."""
    from playball_core.manifest import ManifestError, load_manifest, resolve_schema_dir  # noqa: PLC0415

    try:
        manifest = load_manifest(resolve_schema_dir(schemas))
    except ManifestError as exc:
        _fail(str(exc))
    if manifest.codegen is None:
        _fail(f"{manifest.path}: no [codegen] table; pass SCHEMA_DIR --out DIR --package NAME")
    targets = [(manifest.schema_dir, manifest.codegen.out, manifest.codegen.package)]
    if manifest.runtime_codegen is not None and manifest.runtime:
        directories = {entry.file.parent for entry in manifest.runtime}
        if len(directories) != 1:
            _fail(f"{manifest.path}: the [[runtime.schema]] files must share one directory")
        target = manifest.runtime_codegen
        targets.append((directories.pop(), target.out, target.package))
    return targets


@app.command()
def generate(
    schema_dir: Annotated[
        Path | None,
        typer.Argument(help="directory of .avsc files (default: the manifest's [codegen])"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="directory that receives the package")
    ] = None,
    package: Annotated[str | None, typer.Option("--package", help="dotted package name")] = None,
    schemas: SchemasOption = None,
) -> None:
    """Generate PACKAGE under OUT from every .avsc in SCHEMA_DIR; no arguments: the manifest's."""
    from playball_codegen.errors import CodegenError  # noqa: PLC0415
    from playball_codegen.generate import plan, write  # noqa: PLC0415

    explicit = (schema_dir, out, package)
    if all(value is None for value in explicit):
        targets = _manifest_targets(schemas)
    elif any(value is None for value in explicit):
        _fail("give SCHEMA_DIR, --out and --package together, or none of them")
    else:
        assert schema_dir is not None and out is not None and package is not None
        targets = [(schema_dir, out, package)]
    try:
        results = [plan(*target) for target in targets]  # all planned before any is written
    except CodegenError as exc:
        _fail(str(exc))
    for result in results:
        _warn(result.warnings)
        for path in write(result):
            typer.echo(f"wrote {path}")


@app.command()
def check(schemas: SchemasOption = None) -> None:
    """Fail when the generated classes named by the manifest's [codegen] table are stale."""
    from playball_codegen.errors import CodegenError  # noqa: PLC0415
    from playball_codegen.generate import plan, regenerate_command, stale_files  # noqa: PLC0415

    problems: list[tuple[Path, str]] = []
    fresh: list[str] = []
    for schema_dir, out, package in _manifest_targets(schemas):
        try:
            result = plan(schema_dir, out, package)
        except CodegenError as exc:
            _fail(str(exc))
        _warn(result.warnings)
        stale = stale_files(result)
        problems += stale
        if not stale:
            fresh.append(f"{result.package_dir.name}: up to date with {schema_dir.name}/")
    for path, why in problems:
        typer.echo(f"stale: {path}: {why}", err=True)
    if problems:
        command = regenerate_command("", manifest=True)
        if schemas is not None:
            command += f" --schemas {schemas}"
        typer.echo(f"{len(problems)} generated file(s) out of date; run `{command}`", err=True)
        raise typer.Exit(ExitCode.CHECK_FAILED)
    for line in fresh:
        typer.echo(line)
