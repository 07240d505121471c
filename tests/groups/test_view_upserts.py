"""PostgreSQL's one-statement batch against the unit-of-work path, on random streams.

Each example is a stream of batches over a few users: registrations and updates with
versions in any order, redeliveries of earlier events, repeats inside a batch, and
deletions (a batch with one goes through the repositories on both sides). Behind the
library's claim, the handler with PgViewUpserts must report the same applied / duplicate
/ stale events after every batch, and leave the same view, as the handler folding on the
fake database.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playball_events.consumer.idempotent import apply_once
from playball_events.consumer.ports import ApplyOutcome, ConsumedEvent, RawMessage
from playball_events.consumer.processed_sql import SqlProcessedEvents
from playball_groups.adapters.database import Engine
from playball_groups.adapters.tables import processed_events
from playball_groups.adapters.unit_of_work import SqlUnitOfWork, repositories_on
from playball_groups.adapters.user_view_sql import PgViewUpserts
from playball_groups.domain.user_view import UserEvent
from playball_groups.service_layer.user_events import UserEventHandler
from support.user_events import deleted, registered, updated

from groups.fakes import FakeProcessedEvents, Store, fake_repositories

pytestmark = pytest.mark.stack

USERS = 4


@dataclass(frozen=True)
class Step:
    kind: str  # "registered", "updated", "deleted" or "again" (an earlier event resent)
    user: int
    version: int
    copies: int  # 2: the same message twice in its batch


steps = st.builds(
    Step,
    kind=st.sampled_from(["registered", "updated", "updated", "deleted", "again"]),
    user=st.integers(0, USERS - 1),
    version=st.integers(1, 6),
    copies=st.sampled_from([1, 1, 1, 2]),
)
streams = st.lists(st.lists(steps, min_size=1, max_size=6), min_size=1, max_size=6)


def batches_of(stream: list[list[Step]]) -> list[list[UserEvent]]:
    users = [uuid.uuid4() for _ in range(USERS)]  # fresh ids: examples share the database
    sent: list[UserEvent] = []
    batches: list[list[UserEvent]] = []
    for steps_of_batch in stream:
        batch: list[UserEvent] = []
        for step in steps_of_batch:
            user = users[step.user]
            event: UserEvent
            if step.kind == "again" and sent:
                event = sent[step.version % len(sent)]
            elif step.kind == "deleted":
                event = deleted(user, step.version)
            elif step.kind == "registered":
                event = registered(user, step.version, f"r{step.version}")
            else:
                event = updated(user, step.version, f"u{step.version}")
            batch.extend([event] * step.copies)
        sent.extend(batch)
        batches.append(batch)
    return batches


def consumed(batch: Sequence[UserEvent], first_offset: int) -> list[ConsumedEvent[UserEvent]]:
    return [
        ConsumedEvent(r, RawMessage("t", 0, first_offset + i, str(r.user_id).encode(), b""))
        for i, r in enumerate(batch)
    ]


def ids(outcome: ApplyOutcome[UserEvent]) -> tuple[list[int], list[int], list[int]]:
    """Which positions of the batch were applied, duplicates, stale."""
    return (
        sorted(e.message.offset for e in outcome.applied),
        sorted(e.message.offset for e in outcome.duplicates),
        sorted(e.message.offset for e in outcome.stale),
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stream=streams)
def test_the_one_statement_batch_decides_as_the_unit_of_work(
    postgres_engine: Engine, stream: list[list[Step]]
) -> None:
    one_statement = UserEventHandler(repositories_on, upserts=PgViewUpserts())
    claim = SqlProcessedEvents(postgres_engine, processed_events)
    store = Store()
    reference = UserEventHandler(fake_repositories)
    reference_claim = FakeProcessedEvents(store)
    offset = 0
    touched: set[uuid.UUID] = set()
    for batch in batches_of(stream):
        events = consumed(batch, offset)
        offset += len(events)
        touched.update(r.user_id for r in batch)
        assert ids(apply_once(claim, one_statement, events)) == ids(
            apply_once(reference_claim, reference, events)
        ), batch
    with SqlUnitOfWork(postgres_engine) as uow:
        view = uow.users.get_many(touched)
    assert view == {u: store.users[u] for u in touched if u in store.users}
