"""The user view's apply rules, through the handler as the consumer loop runs it (the
library's claim, then the fresh events, in one transaction), on the fake, SQLite and
PostgreSQL; each through the repositories and through the one-step ViewUpserts path
(PostgreSQL's one statement, or the domain's fold on the other backends)."""

import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from playball_events.consumer.idempotent import apply_once
from playball_events.consumer.ports import ConsumedEvent, ProcessedEvents, RawMessage
from playball_groups.adapters.user_view_sql import PgViewUpserts
from playball_groups.domain.model import Role
from playball_groups.domain.succession import succession
from playball_groups.domain.user_view import UserEvent
from playball_groups.service_layer import groups as use_cases
from playball_groups.service_layer.unit_of_work import ViewUpserts
from playball_groups.service_layer.user_events import UserEventHandler, ViewLimits
from support.user_events import deleted, registered, updated

from groups.conftest import RepositoriesOn, UnitOfWorkFactory
from groups.fakes import FoldingViewUpserts

_offsets = iter(range(10**9))


def id_(value: dt.datetime) -> dt.datetime:
    return value


def consumed(*records: UserEvent, key: bytes | None = None) -> list[ConsumedEvent[UserEvent]]:
    return [
        ConsumedEvent(
            record=r,
            message=RawMessage(
                "t",
                0,
                next(_offsets),
                key if key is not None else str(r.user_id).encode(),
                b"",
            ),
        )
        for r in records
    ]


@dataclass(frozen=True)
class Consumer:
    """The handler and the claim it runs behind, as the loop runs them."""

    handler: UserEventHandler[Any]
    processed: ProcessedEvents[Any]


@pytest.fixture(params=["transaction", "one step"])
def consumer(
    request: pytest.FixtureRequest,
    processed: ProcessedEvents[Any],
    repositories: RepositoriesOn,
    backend: str,
) -> Consumer:
    upserts: ViewUpserts[Any] | None = None
    if request.param == "one step":
        upserts = PgViewUpserts() if backend == "postgres" else FoldingViewUpserts(repositories)
    return Consumer(UserEventHandler(repositories, upserts=upserts), processed)


def apply(consumer: Consumer, events: Sequence[ConsumedEvent[UserEvent]]) -> tuple[int, int, int]:
    outcome = apply_once(consumer.processed, consumer.handler, events)
    return len(outcome.applied), len(outcome.duplicates), len(outcome.stale)


def view(uow: UnitOfWorkFactory, user_id: uuid.UUID) -> tuple[int, bool, str | None] | None:
    with uow() as work:
        found = work.users.get(user_id)
    return None if found is None else (found.user_version, found.deleted, found.display_name)


def test_registered_user_enters_the_view(
    unit_of_work: UnitOfWorkFactory, consumer: Consumer
) -> None:
    user = uuid.uuid4()
    assert apply(consumer, consumed(registered(user, 1, "Ada"))) == (1, 0, 0)
    assert view(unit_of_work, user) == (1, False, "Ada")


def test_same_event_delivered_twice_is_applied_once(
    unit_of_work: UnitOfWorkFactory, consumer: Consumer
) -> None:
    user = uuid.uuid4()
    first, second = registered(user, 1, "Ada"), updated(user, 2, "Ada L.")
    batch = consumed(first, second)
    assert apply(consumer, batch) == (2, 0, 0)
    assert apply(consumer, batch) == (0, 2, 0)
    # the same id twice inside one batch too
    third = updated(user, 3, "Countess")
    assert apply(consumer, consumed(third, third)) == (1, 1, 0)
    assert view(unit_of_work, user) == (3, False, "Countess")


def test_out_of_order_stale_update_is_ignored(
    unit_of_work: UnitOfWorkFactory, consumer: Consumer
) -> None:
    user = uuid.uuid4()
    apply(consumer, consumed(registered(user, 1, "v1"), updated(user, 3, "v3")))
    assert apply(consumer, consumed(updated(user, 2, "v2"))) == (0, 0, 1)
    assert view(unit_of_work, user) == (3, False, "v3")


def test_a_gap_in_versions_is_fine_since_events_carry_full_state(
    unit_of_work: UnitOfWorkFactory, consumer: Consumer
) -> None:
    user = uuid.uuid4()
    assert apply(consumer, consumed(updated(user, 5, "backfilled"))) == (1, 0, 0)
    assert view(unit_of_work, user) == (5, False, "backfilled")


def test_update_redelivered_after_delete_leaves_the_user_deleted(
    unit_of_work: UnitOfWorkFactory, consumer: Consumer
) -> None:
    user = uuid.uuid4()
    update = updated(user, 2, "renamed")
    apply(consumer, consumed(registered(user, 1), update, deleted(user, 3)))
    # a redelivery (new event id, as a relay retry after a lost ack would not have, and
    # a stale one with a higher version) must not resurrect the user
    assert apply(consumer, consumed(updated(user, 2, "renamed"))) == (0, 0, 1)
    assert apply(consumer, consumed(updated(user, 9, "zombie"))) == (0, 0, 1)
    assert apply(consumer, consumed(update)) == (0, 1, 0)
    assert view(unit_of_work, user) == (3, True, None)


def test_delete_of_an_unknown_user_leaves_a_tombstone(
    unit_of_work: UnitOfWorkFactory, consumer: Consumer
) -> None:
    user = uuid.uuid4()
    apply(consumer, consumed(deleted(user, 4)))
    assert apply(consumer, consumed(registered(user, 1))) == (0, 0, 1)
    assert view(unit_of_work, user) == (4, True, None)


def test_deleted_user_leaves_groups_and_the_longest_standing_member_is_promoted(
    unit_of_work: UnitOfWorkFactory, consumer: Consumer
) -> None:
    admin, elder, junior = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    apply(consumer, consumed(*(registered(u, 1) for u in (admin, elder, junior))))
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    group = use_cases.create_group(unit_of_work(), admin, "club", clock=lambda: t0)
    for offset, user in ((1, elder), (2, junior)):
        joined = t0 + dt.timedelta(minutes=offset)
        use_cases.add_member(
            unit_of_work(), admin, group.id, user, clock=functools.partial(id_, joined)
        )

    apply(consumer, consumed(deleted(admin, 2)))

    members = use_cases.list_members(unit_of_work(), elder, group.id)
    assert [(m.user_id, m.role) for m in members] == [(elder, Role.ADMIN), (junior, Role.MEMBER)]


def test_group_whose_last_member_is_deleted_is_deleted(
    unit_of_work: UnitOfWorkFactory, consumer: Consumer
) -> None:
    alone, other = uuid.uuid4(), uuid.uuid4()
    apply(consumer, consumed(registered(alone, 1), registered(other, 1)))
    group = use_cases.create_group(unit_of_work(), alone, "solo")
    apply(consumer, consumed(deleted(alone, 2)))
    with unit_of_work() as work:
        assert work.groups.get(group.id) is None


def test_invalid_events_are_named(repositories: RepositoriesOn) -> None:
    user = uuid.uuid4()
    handler = UserEventHandler(repositories, limits=ViewLimits(display_name=5))
    [wrong_key] = consumed(registered(user), key=b"someone-else")
    [too_long] = consumed(registered(user, 1, "much too long"))
    [fine] = consumed(registered(user, 1, "Ada"))
    assert "key" in (handler.invalid_reason(wrong_key) or "")
    assert "display_name" in (handler.invalid_reason(too_long) or "")
    assert handler.invalid_reason(fine) is None


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ([], "delete"),
        ([Role.ADMIN, Role.MEMBER], "keep"),
        ([Role.MEMBER, Role.MEMBER], "promote-first"),
    ],
)
def test_succession_policy(roles: list[Role], expected: str) -> None:
    from playball_groups.domain.model import Member  # noqa: PLC0415

    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    members = [
        Member(uuid.uuid4(), role, t0 + dt.timedelta(seconds=i), "x")
        for i, role in enumerate(roles)
    ]
    verdict = succession(list(reversed(members)))
    if expected == "delete":
        assert verdict.delete_group
    elif expected == "keep":
        assert not verdict.delete_group and verdict.promote is None
    else:
        assert verdict.promote == members[0].user_id
