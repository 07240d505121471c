"""What the stack asks of each component it runs."""

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

Progress = Callable[[str], None]


class Component(ABC):
    name: str
    program: str  # executable name of its server process ("java", "postgres")

    @abstractmethod
    def runtime_dir(self) -> Path:
        """The directory its server process names on its command line (finds leftovers)."""

    @abstractmethod
    def address(self) -> str: ...

    @abstractmethod
    def ports(self) -> tuple[int, ...]: ...

    @abstractmethod
    def prepare(self, progress: Progress) -> None:
        """Download, verify and initialise what ``launch`` needs; idempotent."""

    @abstractmethod
    def launch(self) -> None:
        """Start the process in the background; ``healthy`` tells when it is ready."""

    @abstractmethod
    def healthy(self) -> bool: ...

    def after_healthy(self) -> None:  # noqa: B027 - optional hook, most components need none
        """Runs once the component answers, before the components that depend on it start."""

    @abstractmethod
    def pid(self) -> int | None: ...

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def kill(self) -> None:
        """SIGKILL, for fault tests."""

    @abstractmethod
    def log_file(self) -> Path: ...

    def exited(self) -> bool:
        """True when it was launched but its process is gone (crashed on start)."""
        return self.pid() is None
