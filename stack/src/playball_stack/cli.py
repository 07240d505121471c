"""`playball stack` sub-commands."""

import typer

app = typer.Typer(help="stack commands", no_args_is_help=True)
