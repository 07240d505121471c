"""Entry points for code (tests, demos) that needs the stack running."""

from playball_events.settings import Settings

from playball_stack.stack import Stack


def ensure_up(settings: Settings) -> Stack:
    """Start what is not running yet (idempotent) and return the running stack."""
    stack = Stack(settings)
    stack.up()
    return stack
