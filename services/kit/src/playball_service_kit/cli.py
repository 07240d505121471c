"""The scaffolding of a ``playball <service>`` command (README, "CLI conventions").

A sub-app module imports this at import time, so it imports only typer and our light
modules; settings (pydantic) are loaded inside the commands, through
:func:`settings_or_exit`.
"""

from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from playball_core.exits import ExitCode, report_error

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

S = TypeVar("S", bound="BaseSettings")


def command_group(help_text: str | None = None) -> typer.Typer:
    """A typer app with plain help (rich help costs every ``playball`` run ~0.15 s)."""
    return typer.Typer(
        help=help_text,
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_show_locals=False,
    )


def fail(message: str, code: ExitCode) -> NoReturn:
    """End the command: ``error: <message>`` on stderr, exit ``code``."""
    report_error(message)
    raise typer.Exit(code)


def settings_or_exit(settings_class: type[S]) -> S:
    """The settings from the environment; a bad ``PLAYBALL_*`` value is named, exit 2."""
    from playball_events.settings import SettingsError, load_settings  # noqa: PLC0415

    try:
        return load_settings(settings_class)
    except SettingsError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
