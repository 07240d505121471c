"""One stack for the whole test session, shared by pytest's worker processes.

Whichever worker needs the stack first starts it, under a file lock so that two workers
never start it twice; the session's controller (the one process that outlives every
worker) stops at the end exactly what was not running when the session began. A
developer's stack that was already running therefore stays running, and CI leaves no
process behind.
"""

import hashlib
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path

from playball_stack.file_lock import file_lock
from playball_stack.settings import StackSettings
from playball_stack.stack import Stack


def running_components(settings: StackSettings) -> set[str]:
    return {c.name for c in Stack(settings).components() if c.pid() is not None}


def _start_lock(settings: StackSettings) -> AbstractContextManager[None]:
    digest = hashlib.sha256(str(settings.home.resolve()).encode()).hexdigest()[:16]
    return file_lock(Path(tempfile.gettempdir()) / f"playball-stack-{digest}.lock")


def ensure_up(settings: StackSettings) -> None:
    """Start whatever is not running yet and wait until every component answers."""
    with _start_lock(settings):
        Stack(settings).up()


def stop_started_since(settings: StackSettings, was_running: set[str]) -> None:
    """Stop the components this session started (all of them: ``down``, data kept)."""
    stack = Stack(settings)
    if not was_running:
        stack.down()
        return
    for component in reversed(stack.components()):
        if component.name not in was_running and component.pid() is not None:
            component.stop()
