"""`playball stack` sub-commands: up, down, status, logs, reset, smoke, env.

Exit codes (README, "CLI conventions"): 0 ok; 1 the operation or check failed (a component
this stack starts did not come up, ``status`` found one unhealthy, the smoke event did not
round-trip); 2 bad input or configuration (a bad ``PLAYBALL_*`` value, a busy port, a
missing program); 3 an external component (one whose address is set) or, for ``smoke``,
the running registry or broker did not answer.

Everything heavy (pydantic-settings, psycopg, httpx, rich, the Kafka client) is imported
inside the commands: this module is loaded by every ``playball`` invocation.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer
from playball_core.exits import ExitCode, exit_code_for, report_error

from playball_stack.errors import (
    ComponentFailedError,
    DependencyDownError,
    PortInUseError,
    StackError,
    ToolMissingError,
)

if TYPE_CHECKING:
    from rich.console import Console

    from playball_stack.stack import Stack

app = typer.Typer(
    help="Run the local stack: Kafka, schema registry, PostgreSQL.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _console() -> Console:
    # rich earns its cost here (progress, tables, log tails): these commands take seconds
    from rich.console import Console  # noqa: PLC0415

    return Console(stderr=True)


def _stack(brokers: int | None = None) -> Stack:
    from playball_events.settings import SettingsError, load_settings  # noqa: PLC0415

    from playball_stack.settings import StackSettings  # noqa: PLC0415
    from playball_stack.stack import Stack  # noqa: PLC0415

    console = _console()

    def report(message: str) -> None:
        console.log(message)

    try:
        settings = load_settings(StackSettings)
    except SettingsError as exc:
        report_error(str(exc))
        raise typer.Exit(ExitCode.BAD_INPUT) from exc
    return Stack(settings, brokers=brokers, progress=report)


def stack_exit_code(error: StackError) -> ExitCode:
    """The exit code a stack failure calls for (the table in this module's docstring)."""
    if isinstance(error, PortInUseError | ToolMissingError):
        return ExitCode.BAD_INPUT
    if isinstance(error, DependencyDownError):
        return ExitCode.UNREACHABLE
    return exit_code_for(error) or ExitCode.CHECK_FAILED


def _fail(exc: StackError) -> typer.Exit:
    report_error(str(exc))
    if isinstance(exc, ComponentFailedError):
        console = _console()
        console.rule(f"last lines of the {exc.component} log")
        console.print(exc.log_tail, markup=False, highlight=False)
    return typer.Exit(stack_exit_code(exc))


@app.command()
def up(
    brokers: Annotated[
        int | None, typer.Option(min=1, max=3, help="Kafka nodes (default: as created, or 1)")
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for health")] = 240.0,
) -> None:
    """Start every component that is not running; wait until all are healthy."""
    stack = _stack(brokers)
    console = _console()
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
    console = _console()
    if killed:
        console.log(f"had to kill leftover processes: {killed}")
    console.log("stack down")


@app.command()
def status() -> None:
    """A table: component, address, pid, healthy. Exit 1 when one is not healthy."""
    stack = _stack()
    if not _print_status(stack):
        raise typer.Exit(ExitCode.CHECK_FAILED)


@app.command()
def logs(
    component: Annotated[str | None, typer.Argument(help="one component (default: all)")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", min=1)] = 40,
) -> None:
    """The last lines of each component's log."""
    from playball_stack.processes import tail  # noqa: PLC0415

    stack = _stack()
    files = stack.logs()
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
            report_error(f"{component!r} {reason}; choose from {choices}")
            raise typer.Exit(ExitCode.BAD_INPUT)
        files = {component: files[component]}
    console = _console()
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
        raise typer.Exit(ExitCode.CHECK_FAILED)
    try:
        stack.reset()
    except StackError as exc:
        raise _fail(exc) from exc
    _console().log(f"stack data under {stack.home} deleted")


@app.command()
def env(
    principal: Annotated[
        str,
        typer.Option(
            "--principal",
            help="whose credentials: a Kafka principal (playball-admin, auth-relay, "
            "groups-consumer) or a PostgreSQL role (playball, playball_auth, "
            "playball_groups, playball_registry, playball_auth_relay)",
        ),
    ] = "playball-admin",
) -> None:
    """Print `export` lines connecting a shell to the stack as PRINCIPAL:
    eval "$(playball stack env)". They hold its password: do not paste them anywhere."""
    import shlex  # noqa: PLC0415

    from playball_core import local_stack  # noqa: PLC0415

    stack = _stack()
    known_name = principal.replace("-", "").replace("_", "").isalnum()
    variables = local_stack.read_credentials(stack.home, principal) if known_name else None
    if variables is None:
        known = sorted(
            path.stem for path in local_stack.credentials_directory(stack.home).glob("*.env")
        )
        if not known:
            report_error(
                f"the stack under {stack.home} has no credentials yet: run `playball stack up`"
            )
        else:
            report_error(f"no principal {principal!r}; choose from {', '.join(known)}")
        raise typer.Exit(ExitCode.BAD_INPUT)
    for name, value in variables.items():
        typer.echo(f"export {name}={shlex.quote(value)}")


def _print_status(stack: Stack) -> bool:
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

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
        result = run_smoke(
            stack.kafka_bootstrap, stack.registry_url, security=stack.admin_client_config()
        )
    except StackError as exc:
        raise _fail(exc) from exc
    _console().log(
        f"smoke ok: UserRegistered schema id {result.schema_id}, event produced and consumed "
        f"back at partition {result.partition} offset {result.offset} in {result.seconds:.2f} s"
    )
