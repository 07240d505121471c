"""Applying a batch exactly once: claim its event ids, hand the handler only the fresh ones.

The claim and the handler's changes share one transaction, so a batch redelivered after
a crash (its database commit done, its offsets not yet committed) finds every id claimed
and comes back as duplicates; the handler never sees one.
"""

import uuid
from collections.abc import Sequence

from playball_events.consumer.ports import (
    ApplyOutcome,
    ConsumedEvent,
    E,
    EventHandler,
    ProcessedEvents,
    Tx,
)


def apply_once(
    processed: ProcessedEvents[Tx], handler: EventHandler[E, Tx], events: Sequence[ConsumedEvent[E]]
) -> ApplyOutcome[E]:
    """Claim ``events`` and apply the fresh ones, in one committed transaction; or raise."""
    with processed.transaction() as tx:
        fresh, duplicates = split_duplicates(events, processed.claim(events, tx))
        outcome: ApplyOutcome[E] = handler.apply(fresh, tx) if fresh else ApplyOutcome()
    return ApplyOutcome(applied=outcome.applied, duplicates=duplicates, stale=outcome.stale)


def split_duplicates(
    events: Sequence[ConsumedEvent[E]], seen: set[uuid.UUID]
) -> tuple[Sequence[ConsumedEvent[E]], list[ConsumedEvent[E]]]:
    """The events to apply, and the duplicates: ``seen`` before, or a repeat in the batch."""
    # The usual batch has no duplicate at all: checked on the ids' ints (C-level hashing)
    # instead of splitting the batch event by event.
    if not seen and len({e.record.event_id.int for e in events}) == len(events):
        return events, []
    fresh: list[ConsumedEvent[E]] = []
    duplicates: list[ConsumedEvent[E]] = []
    taken: set[uuid.UUID] = set()
    for event in events:
        event_id = event.record.event_id
        if event_id in seen or event_id in taken:
            duplicates.append(event)
        else:
            taken.add(event_id)
            fresh.append(event)
    return fresh, duplicates
