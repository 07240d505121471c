"""``python -m playball_events.outbox``: the relay commands over any outbox database."""

from playball_events.outbox.commands import app

app()
