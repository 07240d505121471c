"""One running system (four service processes) for the e2e tests that use it; see
support.system. Auth serves https, with a certificate of the system's own CA, as under
`playball up`. Starting one takes a loaded machine half a minute, so the flow test, the
mixed workload and the personal-data log scan share it: their modules are in the
``e2e-system`` xdist group, so they run on one worker, one at a time (the workload's
crashes leave the system as it was: each process is started again)."""

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
