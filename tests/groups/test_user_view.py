"""The user view's apply rules, through the handler as the consumer loop runs it (the
library's claim, then the fresh events, in one transaction), on the fake, SQLite and
PostgreSQL; each through the repositories and through the one-step ViewUpserts path
(PostgreSQL's one statement, or the domain's fold on the other backends)."""

import datetime as dt
import functools
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from playball_events.consumer.idempotent import apply_once
from playball_events.consumer.ports import ConsumedEvent, ProcessedEvents, RawMessage
from playball_events.consumer.processed_sql import SqlProcessedEvents
from playball_groups.adapters.database import Engine
from playball_groups.adapters.tables import processed_events
from playball_groups.adapters.unit_of_work import SqlUnitOfWork, repositories_on
from playball_groups.adapters.user_view_sql import PgViewUpserts, SqlUserView
from playball_groups.domain.model import ConcurrentUpdateError, KnownUser, Role
from playball_groups.domain.succession import succession
from playball_groups.domain.user_view import UserEvent
from playball_groups.service_layer import groups as use_cases
from playball_groups.service_layer.unit_of_work import LockConflictError, ViewUpserts
from playball_groups.service_layer.user_events import UserEventHandler, ViewLimits
from support.lock_waits import wait_until_done_or_blocked
from support.user_events import deleted, registered, updated

from groups.conftest import RepositoriesOn, UnitOfWorkFactory
from groups.fakes import FakeUnitOfWork, FakeUserView, FoldingViewUpserts, Store

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


@pytest.mark.stack
@pytest.mark.parametrize("joining", ["added by an admin", "creating a group"])
def test_a_user_deleted_while_joining_a_group_does_not_stay_a_member(
    postgres_engine: Engine, monkeypatch: pytest.MonkeyPatch, joining: str
) -> None:
    """The consumer applies a user's deletion right after the use case that makes the
    user a member (``add_member``, or ``create_group`` for its creator) has read the user,
    before it inserts the membership. The deletion's removal of memberships must not miss
    that one: the use case holds the user's row, so the deletion waits for its commit and
    then removes the new membership with the others."""
    consumer = Consumer(
        UserEventHandler(repositories_on),
        SqlProcessedEvents(postgres_engine, processed_events),
    )
    admin, joiner = uuid.uuid4(), uuid.uuid4()
    apply(consumer, consumed(registered(admin, 1, "Ada"), registered(joiner, 1, "Bo")))
    group = use_cases.create_group(SqlUnitOfWork(postgres_engine), admin, "club")
    outcome: list[tuple[int, int, int] | BaseException] = []

    def delete_joiner() -> None:
        try:
            outcome.append(apply(consumer, consumed(deleted(joiner, 2))))
        except BaseException as exc:  # reported by the test, not lost with the thread
            outcome.append(exc)

    deletion = threading.Thread(target=delete_joiner)

    def read_then_let_the_deletion_run(read: Any) -> Any:
        def reading(self: SqlUserView, user_id: uuid.UUID) -> KnownUser | None:
            found: KnownUser | None = read(self, user_id)
            if user_id == joiner and threading.current_thread() is threading.main_thread():
                deletion.start()  # the use case has read the user; its insert is to come
                wait_until_done_or_blocked(deletion, postgres_engine, what="the deletion")
            return found

        return reading

    # whichever way the use case reads the user
    for name in ("get", "get_locked"):
        monkeypatch.setattr(
            SqlUserView, name, read_then_let_the_deletion_run(getattr(SqlUserView, name))
        )
    if joining == "added by an admin":
        use_cases.add_member(SqlUnitOfWork(postgres_engine), admin, group.id, joiner)
    else:
        use_cases.create_group(SqlUnitOfWork(postgres_engine), joiner, "their own")
    deletion.join(timeout=30)
    assert not deletion.is_alive()
    assert outcome == [(1, 0, 0)]  # the deletion applied, after the use case's commit

    monkeypatch.undo()
    with SqlUnitOfWork(postgres_engine) as uow:
        assert uow.groups.of_member(joiner) == []  # a group alone with them is gone too
    members = use_cases.list_members(SqlUnitOfWork(postgres_engine), admin, group.id)
    assert [m.user_id for m in members] == [admin]


def test_an_add_that_loses_a_deadlock_is_a_concurrent_update(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL may break a deadlock between the add's lock of the user and a deletion's
    lock of the group by failing the add: a lost race (409, retry), not an error."""
    store = Store()
    admin, joiner = uuid.uuid4(), uuid.uuid4()
    for user in (admin, joiner):
        store.users[user] = KnownUser(user, 1, deleted=False, username="u", display_name="U")
    group = use_cases.create_group(FakeUnitOfWork(store), admin, "club")

    def deadlocked(_self: FakeUserView, _user_id: uuid.UUID) -> KnownUser | None:
        raise LockConflictError("deadlock detected")

    monkeypatch.setattr(FakeUserView, "get_locked", deadlocked)
    with pytest.raises(ConcurrentUpdateError):
        use_cases.add_member(FakeUnitOfWork(store), admin, group.id, joiner)
    members = use_cases.list_members(FakeUnitOfWork(store), admin, group.id)
    assert [m.user_id for m in members] == [admin]


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
