"""`playball up`, `playball down`, `playball status`: the whole system on this machine.

Exit codes: 0 ok (all healthy), 1 something is unhealthy or a step failed, 2 bad
configuration (a bad PLAYBALL_* value), 3 a component could not be reached or started.
"""

import json
from typing import TYPE_CHECKING, Annotated

import typer
from playball_core.exits import ExitCode
from playball_service_kit.cli import fail, settings_or_exit

if TYPE_CHECKING:
    from playball_orchestration.system import System

app = typer.Typer(rich_markup_mode=None)


def _system(brokers: int | None = None) -> "System":
    # imported here so `playball --help` does not pay for pydantic, httpx and the stack
    from playball_stack.settings import StackSettings  # noqa: PLC0415

    from playball_orchestration.system import System  # noqa: PLC0415

    def progress(message: str) -> None:
        typer.echo(message, err=True)

    return System(settings_or_exit(StackSettings), progress, brokers=brokers)


@app.command()
def up(
    brokers: Annotated[
        int | None,
        typer.Option(
            "--brokers",
            min=1,
            max=3,
            help="Kafka brokers of a new stack: 1, or 3 (replication factor 3, "
            "min.insync.replicas 2). Default: what the stack was made with.",
        ),
    ] = None,
) -> None:
    """Start the stack, prepare topics, databases and contracts, then the four services."""
    from playball_stack.errors import StackError  # noqa: PLC0415

    from playball_orchestration.supervisor import ServiceFailedError  # noqa: PLC0415
    from playball_orchestration.system import StepFailedError  # noqa: PLC0415

    system = _system(brokers)
    try:
        system.up()
    except StackError as exc:
        fail(str(exc), ExitCode.UNREACHABLE)
    except StepFailedError as exc:
        fail(str(exc), ExitCode.CHECK_FAILED)
    except ServiceFailedError as exc:
        fail(str(exc), ExitCode.UNREACHABLE)
    _print_status(system, as_json=False)
    from playball_orchestration.catalog_step import build_catalog  # noqa: PLC0415

    _built, line = build_catalog()
    typer.echo(line)  # a warning when it failed: the system is up all the same


@app.command()
def down() -> None:
    """Stop the four services, then the stack; every database and topic is kept."""
    from playball_stack.errors import StackError  # noqa: PLC0415

    try:
        _system().down()
    except StackError as exc:
        fail(str(exc), ExitCode.CHECK_FAILED)


@app.command()
def status(
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Every component: address, pid, health, the consumer's lag and the outbox backlog."""
    healthy = _print_status(_system(), as_json=json_output)
    raise typer.Exit(ExitCode.OK if healthy else ExitCode.CHECK_FAILED)


@app.command()
def demo(
    auth_url: Annotated[
        str, typer.Option("--auth-url", help="the auth API (default: the one `up` starts)")
    ] = "",
    groups_url: Annotated[
        str, typer.Option("--groups-url", help="the groups API (default: the one `up` starts)")
    ] = "",
) -> None:
    """Show the seed bug gone: register, log in, create a group, rename, delete."""
    from playball_orchestration.demo import DemoFailedError, run  # noqa: PLC0415

    system = _system()
    addresses = {spec.name: spec.address for spec in system.specs}
    try:
        run(
            auth_url or addresses["auth-api"],
            groups_url or addresses["groups-api"],
            typer.echo,
            ca=str(system.tls.ca),  # `up` serves auth over https with the stack's CA
        )
    except DemoFailedError as exc:
        fail(f"demo: {exc}", ExitCode.CHECK_FAILED)


def _print_status(system: "System", *, as_json: bool) -> bool:
    reports = system.status()
    if as_json:
        payload = {"components": [report.as_json() for report in reports]}
        typer.echo(json.dumps(payload, indent=2))
    else:
        from rich.console import Console  # noqa: PLC0415
        from rich.table import Table  # noqa: PLC0415

        table = Table("component", "address", "pid", "healthy", "lag / backlog")
        for report in reports:
            extra = ", ".join(
                f"{key} {'?' if value is None else f'{value:.0f}'}"
                for key, value in report.extra.items()
            )
            table.add_row(
                report.name,
                report.address,
                "-" if report.pid is None else str(report.pid),
                "yes" if report.healthy else "NO",
                extra,
            )
        Console().print(table)
        for report in reports:
            if report.problem is not None:
                typer.echo(f"{report.name}: {report.problem}", err=True)
    return all(report.healthy for report in reports)
