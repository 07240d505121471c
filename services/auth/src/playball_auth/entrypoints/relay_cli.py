"""`playball auth relay` and `playball auth outbox status|retry`: the outbox relay over
the auth database.

The auth CLI calls :func:`register` with its app and its ``outbox`` sub-app. The runtime
library is imported inside the commands only, so ``playball --help`` stays fast.
"""

from typing import Annotated

import typer


def auth_database_url() -> str:
    """The auth database, as the API sees it (PLAYBALL_AUTH_DATABASE_URL, else
    ``playball_auth`` on DATABASE_URL's server)."""
    from playball_events.settings import SettingsError, load_settings  # noqa: PLC0415

    from playball_auth.settings import AuthSettings  # noqa: PLC0415

    try:
        return load_settings(AuthSettings).effective_database_url
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def relay() -> None:
    """Deliver the auth outbox to Kafka until SIGTERM (settings: PLAYBALL_RELAY_*)."""
    from playball_events.outbox.commands import relay_command  # noqa: PLC0415

    raise typer.Exit(relay_command(auth_database_url()))


def status(
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Backlog, oldest unsent age, and the parked events with their reasons."""
    from playball_events.outbox.commands import status_command  # noqa: PLC0415

    raise typer.Exit(status_command(auth_database_url(), json_output=json_output))


def retry(
    event_id: Annotated[str, typer.Argument(help="Id of the parked event to release.")],
) -> None:
    """Put a parked event back in line after its cause is fixed."""
    from playball_events.outbox.commands import retry_command  # noqa: PLC0415

    raise typer.Exit(retry_command(auth_database_url(), event_id))


def register(app: typer.Typer, outbox_app: typer.Typer) -> None:
    """Add ``relay`` to ``app`` and ``status`` / ``retry`` to ``outbox_app``."""
    app.command("relay")(relay)
    outbox_app.command("status")(status)
    outbox_app.command("retry")(retry)
