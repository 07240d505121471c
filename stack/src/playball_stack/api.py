"""Entry points for code (tests, demos) that needs the stack running."""

from collections.abc import Iterator
from contextlib import contextmanager

from playball_stack.settings import StackSettings
from playball_stack.stack import Stack


@contextmanager
def running_stack(settings: StackSettings) -> Iterator[Stack]:
    """The stack, up for the duration; stops on exit only what this call started.

    A developer's stack that was already running stays running, so a test session never
    tears down somebody's work, and CI leaves no process behind.
    """
    stack = Stack(settings)
    was_running = {c.name for c in stack.components() if c.pid() is not None}
    try:
        stack.up()
        yield stack
    finally:
        if not was_running:
            stack.down()
        else:
            for component in reversed(stack.components()):
                if component.name not in was_running:
                    component.stop()
