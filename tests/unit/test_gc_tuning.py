"""The collector settings the long-running processes apply before their work loop."""

import gc
import weakref
from collections.abc import Iterator

import pytest
from playball_core.startup import YOUNG_GENERATION
from playball_events.gc_tuning import RELAY_YOUNG_GENERATION, tune_for_service


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_start_up_objects_are_frozen_and_young_passes_are_rarer() -> None:
    survivor = [object() for _ in range(100)]  # allocated "during start-up"
    gc.set_threshold(700, 10, 10)  # CPython's defaults
    _, middle, old = gc.get_threshold()
    tune_for_service()
    assert gc.get_freeze_count() >= len(survivor)
    assert gc.get_threshold() == (YOUNG_GENERATION, middle, old)


@pytest.mark.usefixtures("restored_gc")
def test_cycles_made_after_tuning_are_still_collected() -> None:
    tune_for_service()

    class Node:
        other: "Node"

    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None


@pytest.mark.usefixtures("restored_gc")
def test_the_relay_asks_for_rarer_young_passes_still() -> None:
    gc.set_threshold(700, 10, 10)
    tune_for_service(RELAY_YOUNG_GENERATION)
    assert gc.get_threshold() == (RELAY_YOUNG_GENERATION, 10, 10)
    assert RELAY_YOUNG_GENERATION > YOUNG_GENERATION
    gc.set_threshold(700, 10, 10)
    tune_for_service(YOUNG_GENERATION // 2)  # never more often than the services' default
    assert gc.get_threshold()[0] == YOUNG_GENERATION
