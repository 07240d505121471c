"""`playball schemas` sub-commands."""

import typer

app = typer.Typer(help="schemas commands", no_args_is_help=True)
