"""``python -m playball_events.outbox``: the relay commands over any outbox database."""

from playball_core.startup import tune_collector

from playball_events.outbox.commands import app

tune_collector()  # before the command imports what it needs
app()
