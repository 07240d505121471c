"""The stop rule's bookkeeping, without a loop: which poison is parked, held, or stops it."""

from collections.abc import Iterable

import pytest
from playball_events.consumer.poison_runs import MessageKey, PoisonRuns, RunPlan, message_key
from playball_events.consumer.ports import DeadLetter, Position, RawMessage

TOPIC = "events"


def messages(partition: int, offsets: Iterable[int]) -> list[RawMessage]:
    return [RawMessage(TOPIC, partition, offset, b"k", b"v") for offset in offsets]


def poison_of(batch: list[RawMessage], bad: set[int]) -> dict[MessageKey, DeadLetter]:
    return {
        message_key(m): DeadLetter(m, f"bad {m.offset}", "invalid")
        for m in batch
        if m.offset in bad
    }


def plan(runs: PoisonRuns, batch: list[RawMessage], bad: set[int]) -> RunPlan:
    found = runs.plan(batch, poison_of(batch, bad))
    runs.accept(found)
    return found


def parked(found: RunPlan) -> list[int]:
    return [letter.message.offset for letter in found.park]


def test_poison_followed_by_a_good_message_in_the_batch_is_parked_and_committed_past() -> None:
    runs = PoisonRuns(limit=5)
    found = plan(runs, messages(0, range(6)), bad={1, 2, 4})
    assert parked(found) == [1, 2, 4]
    assert found.commits == [Position(TOPIC, 0, 6)]
    assert (found.seeks, found.held, found.stopped) == ([], 0, None)


def test_poison_at_the_end_of_a_partition_is_held_and_not_committed_past() -> None:
    runs = PoisonRuns(limit=5)
    found = plan(runs, messages(0, range(5)), bad={3, 4})
    assert parked(found) == []
    assert found.commits == [Position(TOPIC, 0, 3)]  # up to the run's first offset
    assert found.held == 2
    [run] = runs.open_runs()
    assert (run.first_offset, run.last_offset, run.count, run.first_reason) == (3, 4, 2, "bad 3")


def test_a_run_from_an_earlier_batch_is_read_again_and_parked_when_a_good_one_ends_it() -> None:
    runs = PoisonRuns(limit=5)
    plan(runs, messages(0, range(5)), bad={3, 4})
    ended = plan(runs, messages(0, [5, 6]), bad={5})  # 5 continues the run, 6 ends it
    assert parked(ended) == []  # 3 and 4 are no longer in hand
    assert ended.seeks == [Position(TOPIC, 0, 3)]
    assert ended.commits == []  # nothing past the run's start yet
    again = plan(runs, messages(0, [3, 4, 5, 6, 7]), bad={3, 4, 5, 7})
    assert parked(again) == [3, 4, 5]  # the run a good message ends, parked as it comes back
    assert again.commits == [Position(TOPIC, 0, 7)]  # 7 opens a new run
    assert [(r.first_offset, r.count) for r in runs.open_runs()] == [(7, 1)]


def test_the_limit_stops_without_parking_the_run_or_committing_past_the_last_good() -> None:
    runs = PoisonRuns(limit=3)
    plan(runs, messages(0, range(4)), bad={2, 3})
    found = plan(runs, [*messages(0, [4, 5]), *messages(1, [0, 1])], bad={4, 5, 0})
    assert found.stopped is not None
    run = found.stopped
    assert (run.partition, run.first_offset, run.last_offset, run.count) == (0, 2, 4, 3)
    assert run.first_reason == "bad 2"
    # partition 0: nothing parked, nothing committed (already up to 2, the run's first);
    # partition 1 goes on: its poison at 0 is ended by the good 1
    assert [(m.partition, m.offset) for m in (letter.message for letter in found.park)] == [(1, 0)]
    assert found.commits == [Position(TOPIC, 1, 2)]


def test_a_plan_not_accepted_leaves_the_runs_as_they_were() -> None:
    runs = PoisonRuns(limit=3)
    plan(runs, messages(0, [0, 1]), bad={1})
    batch = messages(0, [2, 3])
    runs.plan(batch, poison_of(batch, {2, 3}))  # its batch failed (rewound): not accepted
    assert [(r.first_offset, r.count) for r in runs.open_runs()] == [(1, 1)]


def test_a_revoked_partition_is_forgotten() -> None:
    runs = PoisonRuns(limit=3)
    plan(runs, messages(0, [0, 1]), bad={1})
    runs.forget([(TOPIC, 0)])
    assert runs.open_runs() == []
    # its new owner (or this member again) reads it from the committed offset, 1
    found = plan(runs, messages(0, [1, 2]), bad={1})
    assert parked(found) == [1]


def test_a_partition_read_again_unasked_restarts_its_run_from_the_start() -> None:
    runs = PoisonRuns(limit=5)
    plan(runs, messages(0, [0, 1, 2]), bad={1, 2})
    found = plan(runs, messages(0, [2, 3]), bad={2})
    assert found.seeks == [Position(TOPIC, 0, 1)]
    assert runs.open_runs() == []


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        PoisonRuns(limit=0)
