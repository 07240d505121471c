"""`playball auth privacy scan USER_ID`: what the auth database still holds of a user.

The auth part of an erasure audit (`playball privacy audit` runs it as a program and
reads its ``--json``): the user's row and outbox rows, each reported with the names of
the fields that hold personal data, never their values. Exit 0 nothing found, 1 found,
2 bad input, 3 the database could not be read.
"""

import uuid
from typing import Annotated

import typer
from playball_core.exits import ExitCode
from playball_service_kit.cli import command_group, fail, settings_or_exit

privacy_app = command_group("What the auth database holds of a user (erasure audits).")


@privacy_app.command("scan")
def scan(
    user_id: Annotated[str, typer.Argument(help="the user's id (a UUID)")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
) -> None:
    """Report each row of the user's personal data: the account, the outbox rows."""
    from playball_events.privacy_scan import exit_code, rendered  # noqa: PLC0415

    from playball_auth.adapters.database_sql import make_engine  # noqa: PLC0415
    from playball_auth.adapters.privacy_scan_sql import scan_user  # noqa: PLC0415
    from playball_auth.settings import AuthSettings  # noqa: PLC0415

    try:
        wanted = uuid.UUID(user_id)
    except ValueError:
        fail(f"{user_id!r} is not a user id (a UUID)", ExitCode.BAD_INPUT)
    engine = make_engine(settings_or_exit(AuthSettings).effective_database_url)
    try:
        report = scan_user(engine, wanted)
    finally:
        engine.dispose()
    typer.echo(rendered(report, as_json=as_json))
    raise typer.Exit(exit_code(report))


def register(app: typer.Typer) -> None:
    """Add ``privacy scan`` to the auth CLI."""
    app.add_typer(privacy_app, name="privacy")
