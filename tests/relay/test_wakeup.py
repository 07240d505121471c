"""The relay's wake-up on the real PostgreSQL: a commit's NOTIFY, an interrupt, or the poll."""

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from playball_events.outbox.store_sql import SqlOutboxStore
from playball_events.outbox.wakeup_sql import ListenWakeup
from support.outbox import insert_events, user_event

POLL = 30.0  # longer than any wait below may take: only a signal can end those early


@pytest.fixture
def wakeup(outbox_url: str) -> Iterator[ListenWakeup]:
    listening = ListenWakeup(outbox_url)
    assert listening.wait(0.0) is False  # connected and listening before the test acts
    yield listening
    listening.close()


def timed_wait(wakeup: ListenWakeup, timeout: float) -> tuple[bool, float]:
    started = time.monotonic()
    signalled = wakeup.wait(timeout)
    return signalled, time.monotonic() - started


def test_a_commit_of_outbox_rows_ends_the_wait(wakeup: ListenWakeup, store: SqlOutboxStore) -> None:
    writer = threading.Timer(0.1, insert_events, [store, [user_event("t", uuid.uuid4(), 1)]])
    writer.start()
    signalled, took = timed_wait(wakeup, POLL)
    writer.join()
    assert signalled
    assert took < POLL


def test_an_interrupt_from_another_thread_ends_the_wait(wakeup: ListenWakeup) -> None:
    poker = threading.Timer(0.1, wakeup.interrupt)
    poker.start()
    signalled, took = timed_wait(wakeup, POLL)
    poker.join()
    assert signalled
    assert took < POLL


def test_an_interrupt_before_the_wait_is_not_lost_and_counts_once(wakeup: ListenWakeup) -> None:
    wakeup.interrupt()
    wakeup.interrupt()
    assert wakeup.wait(POLL) is True
    assert wakeup.wait(0.05) is False  # both interrupts were one wake-up


def test_without_a_signal_the_wait_is_the_poll_interval(wakeup: ListenWakeup) -> None:
    signalled, took = timed_wait(wakeup, 0.2)
    assert signalled is False
    assert took >= 0.2


def test_interrupt_after_close_is_harmless(outbox_url: str) -> None:
    listening = ListenWakeup(outbox_url)
    listening.close()
    listening.interrupt()  # the settling thread may finish after the relay closed it
    listening.close()
