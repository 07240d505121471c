"""`playball codegen` sub-commands."""

from pathlib import Path
from typing import Annotated

import typer
from playball_events.manifest import ManifestError, default_schema_dir, load_manifest

from playball_codegen.errors import CodegenError
from playball_codegen.generate import plan, stale_files, write

app = typer.Typer(help="Generate typed Python classes from Avro schemas.", no_args_is_help=True)


@app.command()
def generate(
    schema_dir: Annotated[Path, typer.Argument(help="directory of .avsc files")],
    out: Annotated[Path, typer.Option("--out", help="directory that receives the package")],
    package: Annotated[str, typer.Option("--package", help="dotted package name")],
) -> None:
    """Generate the package PACKAGE under OUT from every .avsc file in SCHEMA_DIR."""
    try:
        result = plan(schema_dir, out, package)
    except CodegenError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for path in write(result):
        typer.echo(f"wrote {path}")


@app.command()
def check(
    schemas: Annotated[
        Path | None,
        typer.Option("--schemas", help="schema directory with manifest.toml (default: schemas/)"),
    ] = None,
) -> None:
    """Fail when the generated classes named by the manifest's \\[codegen] table are stale."""
    schema_dir = schemas if schemas is not None else default_schema_dir()
    try:
        manifest = load_manifest(schema_dir)
        if manifest.codegen is None:
            typer.echo(f"error: {manifest.path}: no [codegen] table", err=True)
            raise typer.Exit(1)
        result = plan(manifest.schema_dir, manifest.codegen.out, manifest.codegen.package)
    except (CodegenError, ManifestError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    problems = stale_files(result)
    for path, why in problems:
        typer.echo(f"stale: {path}: {why}", err=True)
    if problems:
        typer.echo(
            f"{len(problems)} generated file(s) out of date; run `playball codegen generate "
            f"{manifest.schema_dir.name} --out <out> --package {manifest.codegen.package}`",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"{result.package_dir.name}: up to date with {manifest.schema_dir.name}/")
