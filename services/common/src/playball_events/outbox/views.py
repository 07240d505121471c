"""Views of the outbox that narrow what a polling loop may claim; everything else goes to
the table as it is.

- :class:`HeldUsersView`: the log-based relay's catch-up, which claims only the rows of
  the users it holds (parked, deferred) and leaves every other row to the log.
- :class:`BesideTheLog`: a polling relay on a database whose log-based relay streams. It
  claims nothing meanwhile: the log-based relay sends every row itself, and claiming
  them too would send each twice. It claims again, within a second, once the slot is no
  longer streamed (that relay stopped or died), so it doubles as a standby.
"""

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta

from playball_events.outbox.ports import (
    CaptureStore,
    OutboxEvent,
    OutboxStatus,
    OutboxStore,
    Retry,
    SlotMonitor,
)

log = logging.getLogger(__name__)

SLOT_CHECK = 1.0  # seconds a look at the slot holds for a polling relay beside the log


class OutboxStoreView(OutboxStore):
    """The table, through: subclasses change what is claimed."""

    def __init__(self, store: OutboxStore) -> None:
        self.store = store

    def claim_batch(self, relay_id: str, limit: int, lease: timedelta) -> list[OutboxEvent]:
        return self.store.claim_batch(relay_id, limit, lease)

    def mark_sent(self, events: Sequence[OutboxEvent]) -> None:
        self.store.mark_sent(events)

    def park(self, relay_id: str, event: OutboxEvent, reason: str) -> None:
        self.store.park(relay_id, event, reason)

    def reschedule(self, relay_id: str, retries: Sequence[Retry]) -> None:
        self.store.reschedule(relay_id, retries)

    def release(self, relay_id: str, events: Sequence[OutboxEvent] | None = None) -> None:
        self.store.release(relay_id, events)

    def retry(self, event_id: uuid.UUID) -> bool:
        return self.store.retry(event_id)

    def cleanup(self, older_than: timedelta, batch_size: int, max_batches: int) -> int:
        return self.store.cleanup(older_than, batch_size, max_batches)

    def status(self, parked_limit: int = 100) -> OutboxStatus:
        return self.store.status(parked_limit)

    def close(self) -> None:
        self.store.close()


class HeldUsersView(OutboxStoreView):
    """The outbox as the log-based relay's catch-up sees it: only held users' rows are
    claimed."""

    def __init__(self, store: CaptureStore, held: Callable[[], frozenset[str]]) -> None:
        super().__init__(store)
        self.capture = store
        self._held = held

    def claim_batch(self, relay_id: str, limit: int, lease: timedelta) -> list[OutboxEvent]:
        return self.capture.claim_held(relay_id, sorted(self._held()), limit, lease)


class BesideTheLog(OutboxStoreView):
    """The outbox as a polling relay sees it while the log-based relay's slot streams:
    nothing to claim. The slot is looked at once a second at most (a claim is cheap to
    skip, and the look is a query)."""

    def __init__(
        self,
        store: OutboxStore,
        slots: SlotMonitor,
        *,
        on_standby: Callable[[bool], None] = lambda _waiting: None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(store)
        self.slots = slots
        self._on_standby = on_standby  # told each change: standing back, or claiming again
        self._monotonic = monotonic
        self._streamer: int | None = None  # the process streaming the slot, at the last look
        self._next_look = 0.0

    def claim_batch(self, relay_id: str, limit: int, lease: timedelta) -> list[OutboxEvent]:
        if self._streamed():
            return []
        return self.store.claim_batch(relay_id, limit, lease)

    def close(self) -> None:
        """The slot monitor's connection goes too: a relay that stopped looks no more."""
        try:
            self.slots.close()
        finally:
            super().close()

    def _streamed(self) -> bool:
        now = self._monotonic()
        if now < self._next_look:
            return self._streamer is not None
        status = self.slots.status()  # StoreUnavailableError: the relay's round backs off
        self._next_look = now + SLOT_CHECK
        streamer = None if status is None else status.active_pid
        if streamer != self._streamer:
            if status is not None and streamer is not None:
                log.warning(
                    "outbox: a log-based relay streams slot %s (process %d): this polling "
                    "relay claims nothing while it does (it would send every event twice)",
                    status.name,
                    streamer,
                )
            else:
                log.warning("outbox: the log-based relay's slot is not streamed: claiming again")
            self._on_standby(streamer is not None)
        self._streamer = streamer
        return streamer is not None
