"""`playball stack` sub-commands: up, down, status, logs, reset."""

import time
from pathlib import Path
from typing import Annotated

import typer
from playball_events.settings import variable_name
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from playball_stack.errors import ComponentFailedError, StackError
from playball_stack.processes import tail
from playball_stack.settings import StackSettings
from playball_stack.stack import Stack

app = typer.Typer(
    help="Run the local stack: Kafka, schema registry, PostgreSQL.", no_args_is_help=True
)
console = Console(stderr=True)


def _stack(brokers: int | None = None) -> Stack:
    def report(message: str) -> None:
        console.log(message)

    try:
        settings = StackSettings()
    except ValidationError as exc:
        # one line per bad setting, naming the variable instead of a pydantic traceback
        console.print("[bold red]error:[/] invalid stack settings in the environment:")
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            variable = variable_name(StackSettings, field)
            console.print(
                f"  {variable}: {error['msg']}", markup=False, highlight=False, soft_wrap=True
            )
        raise typer.Exit(code=2) from exc
    return Stack(settings, brokers=brokers, progress=report)


def _fail(exc: StackError) -> typer.Exit:
    console.print(f"[bold red]error:[/] {exc}")
    if isinstance(exc, ComponentFailedError):
        console.rule(f"last lines of the {exc.component} log")
        console.print(exc.log_tail, markup=False, highlight=False)
    return typer.Exit(code=1)


@app.command()
def up(
    brokers: Annotated[
        int | None, typer.Option(min=1, max=3, help="Kafka nodes (default: as created, or 1)")
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for health")] = 240.0,
) -> None:
    """Start every component that is not running; wait until all are healthy."""
    stack = _stack(brokers)
    started = time.monotonic()
    try:
        with console.status("bringing the stack up"):
            stack.up(timeout=timeout)
    except StackError as exc:
        raise _fail(exc) from exc
    console.log(f"stack up in {time.monotonic() - started:.1f} s")
    _print_status(stack)


@app.command()
def down() -> None:
    """Stop what `up` started (data is kept for the next `up`)."""
    stack = _stack()
    try:
        killed = stack.down()
    except StackError as exc:
        raise _fail(exc) from exc
    if killed:
        console.log(f"had to kill leftover processes: {killed}")
    console.log("stack down")


@app.command()
def status() -> None:
    """A table: component, address, pid, healthy."""
    stack = _stack()
    if not _print_status(stack):
        raise typer.Exit(code=1)


@app.command()
def logs(
    component: Annotated[str | None, typer.Argument(help="one component (default: all)")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", min=1)] = 40,
) -> None:
    """The last lines of each component's log."""
    stack = _stack()
    files: dict[str, Path] = stack.logs()
    if component is not None:
        if component not in files:
            external = {
                "postgres": stack.postgres is None,
                "registry": stack.registry is None,
                "kafka": stack.kafka is None,
            }
            if external.get(component, False):
                reason = "is external (its address is set), so its logs are its owner's"
            else:
                reason = "is not a component of this stack"
            choices = ", ".join(files) or "none: every component is external"
            console.print(
                f"error: {component!r} {reason}; choose from {choices}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(code=2)
        files = {component: files[component]}
    for name, path in files.items():
        console.rule(f"{name} ({path})")
        console.print(tail(path, lines), markup=False, highlight=False)


@app.command()
def reset(
    yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False,
) -> None:
    """Stop the stack and delete all its data (topics, schemas, databases)."""
    stack = _stack()
    if not yes and not typer.confirm(f"delete all stack data under {stack.home}?"):
        raise typer.Exit(code=1)
    try:
        stack.reset()
    except StackError as exc:
        raise _fail(exc) from exc
    console.log(f"stack data under {stack.home} deleted")


def _print_status(stack: Stack) -> bool:
    table = Table("component", "address", "pid", "healthy")
    all_healthy = True
    for row in stack.status():
        all_healthy &= row.healthy
        pid = "external" if row.external else (str(row.pid) if row.pid else "-")
        health = "[green]yes[/]" if row.healthy else "[red]no[/]"
        table.add_row(row.name, row.address, pid, health)
    Console().print(table)
    return all_healthy


@app.command()
def smoke() -> None:
    """Prove the running stack: register a schema, produce and consume an Avro event."""
    from playball_stack.smoke_kafka import run_smoke  # noqa: PLC0415 - loads Kafka client

    stack = _stack()
    try:
        result = run_smoke(stack.kafka_bootstrap, stack.registry_url)
    except StackError as exc:
        raise _fail(exc) from exc
    console.log(
        f"smoke ok: UserRegistered schema id {result.schema_id}, event produced and consumed "
        f"back at partition {result.partition} offset {result.offset} in {result.seconds:.2f} s"
    )
