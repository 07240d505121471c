"""`playball codegen` sub-commands."""

import typer

app = typer.Typer(help="codegen commands", no_args_is_help=True)
