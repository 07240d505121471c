"""A writer that loads a fault test: one event per transaction, at a steady pace."""

import threading
import time
import uuid
from dataclasses import dataclass, field

from playball_events.outbox.model import NewOutboxEvent
from playball_events.outbox.ports import StoreUnavailableError
from playball_events.outbox.store_sql import SqlOutboxStore
from sqlalchemy.exc import IntegrityError
from support.outbox import insert_events, user_event


@dataclass
class ContinuousWriter:
    """One change per transaction, round after round over ``users``, until stopped.

    A user's version only moves on once its event is known committed. A failed write is
    retried with the *same* event (same id) until it commits or the unique event id says
    an earlier attempt already had (a commit whose answer was lost): so ``committed`` is
    exact, and no user ever gets two events for one version.
    """

    store: SqlOutboxStore
    topic: str
    users: list[uuid.UUID]
    # A steady stream, not a flood: the faults need writes before, during and after them,
    # not thousands of them (every one is written, relayed, replicated and read back, on
    # the 2 cores the rest of the suite shares)
    per_second: float = 200.0
    committed: list[NewOutboxEvent] = field(default_factory=list)
    failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-writer")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(120)
            assert not self._thread.is_alive(), "the writer did not finish"

    def _run(self) -> None:
        versions = dict.fromkeys(self.users, 1)
        unsettled: dict[uuid.UUID, NewOutboxEvent] = {}
        round_s = len(self.users) / self.per_second
        while not self._stop.is_set():
            started = time.monotonic()
            for user in self.users:
                event = unsettled.pop(user, None) or user_event(self.topic, user, versions[user])
                if self._write(event):
                    versions[user] += 1
                else:
                    unsettled[user] = event
            self._stop.wait(max(0.02, round_s - (time.monotonic() - started)))
        # the database is up again by now: settle what the outage left uncertain
        for event in unsettled.values():
            assert self._write(event), f"event {event.event_id} still not written"

    def _write(self, event: NewOutboxEvent) -> bool:
        try:
            insert_events(self.store, [event])
        except IntegrityError:  # an earlier attempt committed; only its answer was lost
            pass
        except StoreUnavailableError:
            self.failures += 1
            self._stop.wait(0.05)  # the database is down: do not spin
            return False
        self.committed.append(event)
        return True
