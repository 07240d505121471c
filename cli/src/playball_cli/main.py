"""The ``playball`` command: one typer app composed of the sub-apps packages contribute.

Each installed package that wants a sub-command declares an entry point in the
``playball.commands`` group (name -> typer app). A package whose commands belong at the
top level (``playball up``) declares its typer app in ``playball.root_commands`` instead.
Discovering them here keeps this package free of imports from every other one, so a
service never drags in dev tooling.

Startup budget: every command, ``--help`` included, loads every sub-app module before
parsing arguments, so those modules import only typer and light modules at import time;
their heavy dependencies are imported inside the commands (README, "CLI conventions").
"""

import sys

import typer
from playball_core.credentials import end_process_on_refusal
from playball_core.exits import exit_code_for, report_error
from playball_core.startup import tune_collector

from playball_cli.discovery import EntryPoint, entry_points

ENTRY_POINT_GROUP = "playball.commands"
ROOT_ENTRY_POINT_GROUP = "playball.root_commands"


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="playball",
        help="PlayBall event contracts: local stack, schemas, codegen and services.",
        no_args_is_help=True,
        # plain click help: rich formatting would cost every invocation ~0.1 s
        rich_markup_mode=None,
        pretty_exceptions_show_locals=False,
    )
    for group, named in ((ROOT_ENTRY_POINT_GROUP, False), (ENTRY_POINT_GROUP, True)):
        for entry in sorted(entry_points(group), key=lambda e: e.name):
            sub_app = _load(entry)
            if sub_app is not None:
                # without a name, typer merges the sub-app's commands into the root
                app.add_typer(sub_app, name=entry.name if named else None)
    return app


def _load(entry: EntryPoint) -> typer.Typer | None:
    """The entry point's typer app; None, with a warning on stderr, when it cannot be
    loaded: one broken package's commands must not take every other command with them."""
    try:
        sub_app = entry.load()
    except Exception as exc:  # any import-time failure of that package
        problem = f"{type(exc).__name__}: {exc}"
    else:
        if isinstance(sub_app, typer.Typer):
            return sub_app
        problem = f"it is a {type(sub_app).__name__}, not a typer.Typer"
    sys.stderr.write(
        f"warning: the {entry.name!r} commands are unavailable: {entry.value} did not "
        f"load ({problem}); reinstall the package that declares it\n"
    )
    return None


def main() -> None:
    tune_collector()  # before the command imports what it needs
    # Every command and service: a broker or registry refusing the configured credentials
    # ends the process with exit 3 at once, wherever it surfaces (playball_core.credentials).
    end_process_on_refusal()
    try:
        build_app()()
    except Exception as exc:
        # The safety net for sub-commands: an error whose kind has an exit code (a bad
        # setting, an unreachable dependency) is a message, never a traceback.
        code = exit_code_for(exc)
        if code is None:
            raise
        report_error(str(exc))
        sys.exit(code)
