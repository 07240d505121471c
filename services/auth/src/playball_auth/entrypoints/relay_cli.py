"""Placeholder for the outbox relay's commands (``relay``, ``outbox status``, ``outbox retry``).

The relay branch provides the real :func:`register`; until it is merged this adds nothing.
"""

import typer


def register(app: typer.Typer, outbox_app: typer.Typer) -> None:
    """Add the relay's commands to ``playball auth`` and ``playball auth outbox``.

    Provided by the relay branch; this no-op keeps the auth CLI importable without it.
    """
    del app, outbox_app
