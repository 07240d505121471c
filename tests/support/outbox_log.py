"""What was committed to an outbox, read from PostgreSQL's log through a slot of the test's
own: the oracle of "every committed event reached the topic" once the log-based relay
deletes the rows it sent (the table no longer holds them)."""

import contextlib
import uuid
from collections.abc import Callable, Iterator

from playball_events.outbox.capture_wal_sql import WalChangeStream, drop_slot
from playball_events.outbox.ports import OutboxEvent

READ_IDLE = 0.5  # seconds a read finds nothing before the log counts as read to its end
DROP_PATIENCE = 10.0  # seconds the slot's walsender may take to let it go


@contextlib.contextmanager
def committed_outbox_events(database_url: str) -> Iterator[Callable[[], list[OutboxEvent]]]:
    """From now on, every outbox insert committed to ``database_url``; call the function
    once the writes are done: it reads the log to its end. The slot is dropped at exit.
    ``database_url`` needs a role allowed to replicate (the stack's administrator)."""
    slot = f"test_outbox_log_{uuid.uuid4().hex[:12]}"
    stream = WalChangeStream(database_url, slot=slot)
    stream.open()

    def committed() -> list[OutboxEvent]:
        events: list[OutboxEvent] = []
        while batch := stream.read(10_000, READ_IDLE):
            if not batch.events:
                return events
            events.extend(batch.events)
        return events

    try:
        yield committed
    finally:
        stream.close()
        drop_slot(database_url, slot, patience=DROP_PATIENCE)
