"""Every entry point tunes the collector before it imports its heavy dependencies."""

import gc
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playball_core.startup import YOUNG_GENERATION, tune_collector


@pytest.fixture
def threshold() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_the_young_generation_is_raised_and_the_others_kept(threshold: None) -> None:
    gc.set_threshold(700, 11, 12)
    tune_collector()
    assert gc.get_threshold() == (YOUNG_GENERATION, 11, 12)


def test_a_larger_threshold_set_before_is_never_lowered(threshold: None) -> None:
    gc.set_threshold(YOUNG_GENERATION * 5, 10, 10)
    tune_collector()
    assert gc.get_threshold()[0] == YOUNG_GENERATION * 5


@pytest.mark.parametrize(
    "entry",
    [
        "from playball_cli import main as m; m.main()",
        "import runpy; runpy.run_module('playball_events.outbox', run_name='__main__')",
        "from playball_orchestration import run as m; m.main()",
    ],
    ids=["playball", "outbox-relay", "orchestration-run"],
)
def test_each_entry_point_tunes_it_before_running_its_command(entry: str) -> None:
    # the command is --help: the threshold it ran under is printed when it exits
    probe = f"import atexit, gc; atexit.register(lambda: print(gc.get_threshold()[0]))\n{entry}"
    argv = ["--help"] if "orchestration" not in entry else ["runtime-dir", "--help"]
    result = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(YOUNG_GENERATION)
