"""The seed bug is gone: what a user does in auth reaches the groups service."""

import pytest
from playball_orchestration.demo import run
from support.system import RunningSystem

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def test_a_new_user_creates_a_group_and_later_changes_reach_the_group(
    system: RunningSystem,
) -> None:
    lines: list[str] = []
    timings = run(system.auth_url, system.groups_url, lines.append)
    # run() raises on any step that does not happen; each event type was seen to arrive
    assert set(timings) == {"UserRegistered", "UserUpdated", "UserDeleted"}
    assert any("Alice is no longer a member" in line for line in lines)
