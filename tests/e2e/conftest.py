"""One running system (four service processes) per e2e test module; see support.system."""

from collections.abc import Iterator

import pytest
from playball_stack.settings import StackSettings
from support.system import RunningSystem, running_system


@pytest.fixture(scope="module")
def system(
    stack: StackSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSystem]:
    with running_system(stack, tmp_path_factory.mktemp("system")) as running:
        yield running
