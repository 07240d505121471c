"""What can go wrong when running the stack, each with what to do about it.

The CLI's exit code follows the kind (``playball_stack.cli.stack_exit_code``).
"""

from playball_core.exits import DependencyUnreachableError


class StackError(Exception):
    """A stack operation failed; the message says what, where and what to do."""


class ToolMissingError(StackError):
    """A program the stack needs (java, mvn, PostgreSQL's binaries) is not installed."""


class ChecksumError(StackError):
    """A downloaded file does not match its pinned sha256; it has been deleted."""


class PortInUseError(StackError):
    def __init__(self, port: int, component: str, holder: str | None) -> None:
        self.port = port
        self.component = component
        held_by = f" (held by {holder})" if holder else ""
        super().__init__(
            f"port {port} needed by {component} is already in use{held_by}; stop that "
            f"process, or move {component} with its PLAYBALL_*_PORT setting"
        )


class ComponentFailedError(StackError):
    def __init__(self, component: str, reason: str, log_tail: str) -> None:
        self.component = component
        self.log_tail = log_tail
        super().__init__(f"{component}: {reason}")


class DependencyDownError(StackError, DependencyUnreachableError):
    """A server the stack needs but does not run did not answer: an external component
    (its address is set) or, for ``smoke``, the running broker or registry. Exit 3."""
