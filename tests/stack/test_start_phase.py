"""Stack.start_phase with components that run no process: busy ports, early exits."""

import time
from pathlib import Path

import pytest
from playball_stack.components.base import Component, Progress
from playball_stack.errors import (
    ComponentFailedError,
    PortInUseError,
)
from playball_stack.settings import StackSettings
from playball_stack.stack import (
    Stack,
)
from support.stack_env import (
    free_port,
)


class FakeComponent(Component):
    program = "fake-server"

    def __init__(self, name: str, port: int, tmp_path: Path, *, running: bool = False) -> None:
        self.name = name
        self.dir = tmp_path / name
        self.port = port
        self.alive = running
        self.launched = 0
        self.log = tmp_path / f"{name}.log"
        self.log.write_text(f"{name} says goodbye\n")

    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def runtime_dir(self) -> Path:
        return self.dir

    def ports(self) -> tuple[int, ...]:
        return (self.port,)

    def prepare(self, progress: Progress) -> None:
        pass

    def launch(self) -> None:
        self.launched += 1  # "crashes" at once: pid() stays None

    def healthy(self) -> bool:
        return False

    def pid(self) -> int | None:
        if self.alive:
            self.alive = False  # found running once, then it dies
            return 4242
        return None

    def stop(self) -> None:
        pass

    def kill(self) -> None:
        pass

    def log_file(self) -> Path:
        return self.log


@pytest.fixture
def external_stack(external_env: Path) -> Stack:
    return Stack(StackSettings())


def test_busy_port_is_refused_before_anything_launches(
    external_stack: Stack, tmp_path: Path, listening_port: int
) -> None:
    fake = FakeComponent("thing", listening_port, tmp_path)
    with pytest.raises(PortInUseError) as refused:
        external_stack.start_phase([fake], deadline=time.monotonic() + 60)
    assert refused.value.port == listening_port
    assert refused.value.component == "thing"
    assert str(listening_port) in str(refused.value)
    assert "PLAYBALL_*_PORT" in str(refused.value)
    assert fake.launched == 0


def test_a_component_that_dies_on_start_fails_with_its_log(
    external_stack: Stack, tmp_path: Path
) -> None:
    fake = FakeComponent("thing", free_port(), tmp_path)
    with pytest.raises(ComponentFailedError, match="exited while starting") as failed:
        external_stack.start_phase([fake], deadline=time.monotonic() + 600)
    assert fake.launched == 1
    assert failed.value.component == "thing"
    assert "thing says goodbye" in failed.value.log_tail


def test_a_half_started_component_that_dies_fails_instead_of_waiting_out_the_deadline(
    external_stack: Stack, tmp_path: Path
) -> None:
    # found running by `up` (so not launched again), then its process disappears
    fake = FakeComponent("thing", free_port(), tmp_path, running=True)
    with pytest.raises(ComponentFailedError, match="exited while starting"):
        external_stack.start_phase([fake], deadline=time.monotonic() + 600)
    assert fake.launched == 0
