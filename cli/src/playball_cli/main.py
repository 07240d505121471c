"""The ``playball`` command: one typer app composed of the sub-apps packages contribute.

Each installed package that wants a sub-command declares an entry point in the
``playball.commands`` group (name -> typer app). Discovering them here keeps this
package free of imports from every other one, so a service never drags in dev tooling.
"""

from importlib.metadata import entry_points

import typer

ENTRY_POINT_GROUP = "playball.commands"


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="playball",
        help="PlayBall event contracts: local stack, schemas, codegen and services.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
    )
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        sub_app = entry.load()
        if not isinstance(sub_app, typer.Typer):
            msg = f"entry point {entry.name!r} ({entry.value}) is not a typer.Typer"
            raise TypeError(msg)
        app.add_typer(sub_app, name=entry.name)
    return app


def main() -> None:
    build_app()()
