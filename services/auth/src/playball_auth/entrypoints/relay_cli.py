"""`playball auth relay` and `playball auth outbox status|retry`: the outbox relay's
commands (:mod:`playball_events.outbox.commands`) over the auth database.

The auth CLI calls :func:`register` with its app and its ``outbox`` sub-app.
"""

import typer
from playball_events.outbox import commands
from playball_service_kit.cli import settings_or_exit


def auth_database_url(given: str | None) -> str:
    """``--database-url`` when given, else the auth database as the API sees it
    (PLAYBALL_AUTH_DATABASE_URL, else ``playball_auth`` on DATABASE_URL's server)."""
    if given is not None:
        return given
    from playball_auth.settings import AuthSettings  # noqa: PLC0415 - pydantic

    return settings_or_exit(AuthSettings).effective_database_url


def register(app: typer.Typer, outbox_app: typer.Typer) -> None:
    """Add ``relay`` to ``app`` and ``status`` / ``retry`` to ``outbox_app``."""
    commands.register(
        app,
        outbox_app,
        auth_database_url,
        url_help="default: the auth database",
        url_variable="PLAYBALL_AUTH_DATABASE_URL",
    )
