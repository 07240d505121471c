"""One running system (four service processes) for the e2e tests that use it; see
support.system. Auth serves https, with a certificate of the system's own CA, as under
`playball up`. Starting one takes a loaded machine half a minute, so the flow test and
the mixed workload share it: both modules are in the ``e2e-system`` xdist group, so they
run on one worker, the flow first (it is the shorter, and the workload's crashes leave
the system as it was)."""

from collections.abc import Iterator

import pytest
from playball_stack.settings import StackSettings
from support.system import RunningSystem, running_system


@pytest.fixture(scope="package")
def system(
    stack: StackSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSystem]:
    with running_system(stack, tmp_path_factory.mktemp("system"), auth_tls=True) as running:
        yield running
