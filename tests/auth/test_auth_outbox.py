"""Change detection and the outbox: each user change gives exactly the events of the rules,
with versions 1, 2, 3... per user, in the same transaction as the change.

The shared part runs on the fakes, SQLite and PostgreSQL; the SQL part (rollback after the
outbox insert, NOTIFY, concurrency, trace headers) on the real databases.
"""

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry import context, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from playball_auth.adapters.database_sql import session_factory
from playball_auth.adapters.orm_sql import outbox, users
from playball_auth.adapters.unit_of_work_sql import SqlUnitOfWork
from playball_auth.adapters.user_events_sql import UnrecordedChangeError
from playball_auth.domain.model import User
from playball_auth.service_layer import handlers
from playball_auth.service_layer.credentials import Reauthenticated
from playball_auth.service_layer.errors import ConcurrentUpdateError, StaleUser
from playball_events.contracts import UserDeleted, UserRegistered, UserUpdated
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_events.outbox.model import OUTBOX_CHANNEL, schema_fingerprint
from psycopg import pq
from sqlalchemy import event, func, literal, make_url, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from support.auth_backends import AuthBackend, OutboxRow, SqlBackend
from support.auth_fakes import FakePasswordHasher

REGISTERED = "playball.auth.v1.UserRegistered"
UPDATED = "playball.auth.v1.UserUpdated"
DELETED = "playball.auth.v1.UserDeleted"
RECORDS: dict[str, type[UserRegistered] | type[UserUpdated] | type[UserDeleted]] = {
    REGISTERED: UserRegistered,
    UPDATED: UserUpdated,
    DELETED: UserDeleted,
}


def register(backend: AuthBackend, name: str = "alice") -> handlers.UserSnapshot:
    return handlers.register_user(
        backend.uow_factory,
        FakePasswordHasher(),
        username=name,
        email=f"{name}@example.org",
        password="correct horse",
        display_name=name.title(),
    )


def rename(
    uow_factory: handlers.UowFactory, user_id: uuid.UUID, username: str
) -> handlers.UserSnapshot:
    """A username change: no use case offers one yet, the domain and its events do."""
    with uow_factory() as uow:
        user = uow.users.get(user_id)
        assert user is not None
        user.rename(username, datetime.now(UTC))
        uow.commit()
    return handlers.get_user(uow_factory, user_id)


def kinds(rows: list[OutboxRow]) -> list[tuple[str, int]]:
    return [(row.record_type, row.aggregate_version) for row in rows]


def decode(row: OutboxRow) -> UserRegistered | UserUpdated | UserDeleted:
    record_class = RECORDS[row.record_type]
    return record_class.from_avro_bytes(row.payload)


def test_each_change_kind_gives_exactly_its_events_with_versions_1_2_3(
    backend: AuthBackend,
) -> None:
    hasher = FakePasswordHasher()
    user = register(backend)
    uid = user.id
    update = handlers.update_profile
    update(backend.uow_factory, hasher, uid, handlers.ProfileChanges(display_name="Al"))
    # email or password alone: not in the contract, no event, no new version
    proof = Reauthenticated(uid)  # the current password was given (login's part)
    update(
        backend.uow_factory,
        hasher,
        uid,
        handlers.ProfileChanges(email="new@example.org"),
        reauthenticated=proof,
    )
    update(
        backend.uow_factory,
        hasher,
        uid,
        handlers.ProfileChanges(password="another one"),
        reauthenticated=proof,
    )
    # the same value again is no change
    update(backend.uow_factory, hasher, uid, handlers.ProfileChanges(display_name="Al"))
    rename(backend.uow_factory, uid, "alicia")
    handlers.delete_user(backend.uow_factory, uid, reauthenticated=proof)

    rows = backend.outbox_rows(uid)
    assert kinds(rows) == [(REGISTERED, 1), (UPDATED, 2), (UPDATED, 3), (DELETED, 4)]
    assert len({row.event_id for row in rows}) == 4
    records = [decode(row) for row in rows]
    assert [r.event_id for r in records] == [row.event_id for row in rows]
    assert all(r.user_id == uid for r in records)
    assert [(r.username, r.display_name) for r in records[:3]] == [  # type: ignore[union-attr]
        ("alice", "Alice"),
        ("alice", "Al"),
        ("alicia", "Al"),
    ]
    assert uid not in backend.user_ids()


def test_outbox_rows_name_topic_subject_and_the_writing_schema(backend: AuthBackend) -> None:
    before = datetime.now(UTC)
    user = register(backend, "bob")
    after = datetime.now(UTC)
    (row,) = backend.outbox_rows(user.id)
    subject = PLAYBALL_AUTH_USER_EVENTS_V1.subject_of(UserRegistered)
    assert row.topic == PLAYBALL_AUTH_USER_EVENTS_V1.name
    assert row.subject == subject.name
    assert row.aggregate_id == str(user.id)
    assert row.schema_fingerprint == schema_fingerprint(UserRegistered.avro_schema())
    record = decode(row)
    # occurred_at: the flush time, aware UTC, between the call's start and end
    assert record.occurred_at.utcoffset() is not None
    assert before <= record.occurred_at <= after
    assert row.created_at == record.occurred_at
    assert record.user_version == 1


def test_versions_count_per_user(backend: AuthBackend) -> None:
    hasher = FakePasswordHasher()
    first, second = register(backend, "carol"), register(backend, "dave")
    for name in ("C1", "C2"):
        handlers.update_profile(
            backend.uow_factory, hasher, first.id, handlers.ProfileChanges(display_name=name)
        )
    assert [r.aggregate_version for r in backend.outbox_rows(first.id)] == [1, 2, 3]
    assert [r.aggregate_version for r in backend.outbox_rows(second.id)] == [1]


def test_backfill_enqueues_one_registered_event_per_user_at_its_version(
    backend: AuthBackend,
) -> None:
    hasher = FakePasswordHasher()
    users = [register(backend, f"user{i}") for i in range(5)]
    handlers.update_profile(
        backend.uow_factory, hasher, users[0].id, handlers.ProfileChanges(display_name="Zero")
    )
    handlers.delete_user(
        backend.uow_factory, users[4].id, reauthenticated=Reauthenticated(users[4].id)
    )
    before = {user.id: len(backend.outbox_rows(user.id)) for user in users}

    assert handlers.backfill_outbox(backend.uow_factory, batch_size=2) == 4

    for user in users[:4]:
        new = backend.outbox_rows(user.id)[before[user.id] :]
        assert len(new) == 1
        record = decode(new[0])
        assert isinstance(record, UserRegistered)
        assert record.user_version == (2 if user is users[0] else 1)
        assert record.display_name == ("Zero" if user is users[0] else user.display_name)
    assert len(backend.outbox_rows(users[4].id)) == before[users[4].id]  # deleted: none


# --- SQL only ------------------------------------------------------------------------


def test_rollback_after_the_outbox_insert_leaves_no_user_and_no_outbox_row(
    sql_backend: SqlBackend,
) -> None:
    user = User.register(
        username="eve",
        email="eve@example.org",
        password_hash="x",
        display_name="Eve",
        now=datetime.now(UTC),
    )
    with sql_backend.sessions() as session:
        session.add(user)
        session.flush()  # the outbox row is inserted here, in the same transaction
        inside = session.scalar(select(func.count()).where(outbox.c.aggregate_id == str(user.id)))
        assert inside == 1
        session.rollback()
    assert sql_backend.outbox_rows(user.id) == []
    assert user.id not in sql_backend.user_ids()


def test_a_failed_commit_leaves_neither(sql_backend: SqlBackend) -> None:
    register(sql_backend, "frank")
    clash = User.register(
        username="FRANK",  # same name, other case: the unique index refuses it
        email="other@example.org",
        password_hash="x",
        display_name="F",
        now=datetime.now(UTC),
    )
    with sql_backend.sessions() as session:
        session.add(clash)
        with pytest.raises(IntegrityError):
            session.commit()
    assert sql_backend.outbox_rows(clash.id) == []
    assert clash.id not in sql_backend.user_ids()


def test_outbox_rows_carry_the_active_trace_context(sql_backend: SqlBackend) -> None:
    trace_id, span_id = 0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331
    span = NonRecordingSpan(
        SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(1))
    )
    token = context.attach(trace.set_span_in_context(span))
    try:
        traced = register(sql_backend, "grace")
    finally:
        context.detach(token)
    untraced = register(sql_backend, "heidi")
    (row,) = sql_backend.outbox_rows(traced.id)
    assert row.headers["traceparent"] == f"00-{trace_id:032x}-{span_id:016x}-01"
    assert "traceparent" not in sql_backend.outbox_rows(untraced.id)[0].headers


def test_a_profile_changes_row_carries_the_active_trace_context(sql_backend: SqlBackend) -> None:
    """The one-user update the flush hook saves itself writes the same headers."""
    user = register(sql_backend, "ivan")
    trace_id, span_id = 0x1AF7651916CD43DD8448EB211C80319C, 0xC7AD6B7169203331
    span = NonRecordingSpan(
        SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(1))
    )
    token = context.attach(trace.set_span_in_context(span))
    try:
        handlers.update_profile(
            sql_backend.uow_factory,
            FakePasswordHasher(),
            user.id,
            handlers.ProfileChanges(display_name="Ivan the Traced"),
        )
    finally:
        context.detach(token)
    _registered, updated = sql_backend.outbox_rows(user.id)
    assert updated.headers["traceparent"] == f"00-{trace_id:032x}-{span_id:016x}-01"
    assert decode(updated).display_name == "Ivan the Traced"  # type: ignore[union-attr]


def test_changes_saved_twice_in_one_unit_of_work_check_the_version_each_saved(
    sql_backend: SqlBackend,
) -> None:
    """After the flush hook saves a user, the session holds it as saved: the next save
    checks the version the first one wrote, and writes only its own event."""
    user = register(sql_backend, "judy")
    with sql_backend.uow_factory() as uow:
        loaded = uow.users.get(user.id)
        assert loaded is not None
        loaded.change_display_name("Judy Two", datetime.now(UTC))
        uow.commit()
        loaded.change_display_name("Judy Three", datetime.now(UTC))
        uow.commit()
    rows = sql_backend.outbox_rows(user.id)
    assert kinds(rows) == [(REGISTERED, 1), (UPDATED, 2), (UPDATED, 3)]
    saved = handlers.get_user(sql_backend.uow_factory, user.id)
    assert (saved.display_name, saved.version) == ("Judy Three", 3)


def _write_after_the_method(user: User) -> None:
    user.change_display_name("Recorded", datetime.now(UTC))
    user.display_name = "Saved"  # the recorded event no longer describes what is saved


BYPASSES: dict[str, Callable[[User], object]] = {
    "display_name": lambda user: setattr(user, "display_name", "Sneaky"),
    "username": lambda user: setattr(user, "username", "sneaky"),
    "version": lambda user: setattr(user, "version", user.version + 1),
    "after_the_method": _write_after_the_method,
}


@pytest.mark.parametrize("bypass", BYPASSES.values(), ids=BYPASSES.keys())
def test_a_contract_change_no_recorded_event_describes_fails_the_flush(
    sql_backend: SqlBackend, bypass: Callable[[User], object]
) -> None:
    """An attribute written past the User's methods cannot be saved: no path can change
    the contract without its event."""
    user = register(sql_backend, "mallory")
    with sql_backend.uow_factory() as uow:
        loaded = uow.users.get(user.id)
        assert loaded is not None
        bypass(loaded)
        with pytest.raises(UnrecordedChangeError, match="no recorded event describes"):
            uow.commit()
    assert handlers.get_user(sql_backend.uow_factory, user.id) == user
    assert kinds(sql_backend.outbox_rows(user.id)) == [(REGISTERED, 1)]


def test_a_deletion_not_recorded_by_the_user_fails_the_flush(sql_backend: SqlBackend) -> None:
    user = register(sql_backend, "niaj")
    with sql_backend.uow_factory() as uow:
        loaded = uow.users.get(user.id)
        assert loaded is not None
        uow.users.delete(loaded)
        with pytest.raises(UnrecordedChangeError, match="without recording it"):
            uow.commit()
    assert user.id in sql_backend.user_ids()
    assert kinds(sql_backend.outbox_rows(user.id)) == [(REGISTERED, 1)]


@pytest.mark.stack
def test_a_commit_with_outbox_rows_notifies_the_relay(
    pg_backend: SqlBackend, auth_pg_url: str
) -> None:
    conninfo = make_url(auth_pg_url).set(drivername="postgresql")
    with psycopg.connect(conninfo.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
        register(pg_backend, "ivan")
        received = next(conn.notifies(timeout=30, stop_after=1), None)
    assert received is not None
    assert received.channel == OUTBOX_CHANNEL


def test_concurrent_updates_of_one_user_never_share_a_version(sql_backend: SqlBackend) -> None:
    """Threads update one user at once; the version check makes the losers retry on fresh
    state, so every saved change gets its own version and event."""
    hasher = FakePasswordHasher()
    user = register(sql_backend, "judy")
    threads, rounds = 6, 4
    start = threading.Barrier(threads)
    saved: list[int] = []
    gave_up: list[int] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        start.wait()
        for round_ in range(rounds):
            changes = handlers.ProfileChanges(display_name=f"judy {index}.{round_}")
            try:
                handlers.update_profile(sql_backend.uow_factory, hasher, user.id, changes)
            except ConcurrentUpdateError:
                with lock:
                    gave_up.append(index)
            else:
                with lock:
                    saved.append(index)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()

    versions = [row.aggregate_version for row in sql_backend.outbox_rows(user.id)]
    assert len(saved) + len(gave_up) == threads * rounds
    assert sorted(versions) == list(range(1, len(saved) + 2))  # 1 = registration
    with sql_backend.uow_factory() as uow:
        final = uow.users.get(user.id)
        assert final is not None
        assert final.version == len(saved) + 1


@pytest.mark.stack
def test_a_change_saved_on_a_stale_read_is_refused(pg_backend: SqlBackend) -> None:
    """Two transactions read version 1; the second to save finds the version moved on and
    is refused (the handlers then retry on fresh state), instead of writing version 2
    twice. PostgreSQL only: SQLite takes its write lock at BEGIN, so these two
    transactions could not even overlap."""
    user = register(pg_backend, "kim")
    with pg_backend.uow_factory() as first, pg_backend.uow_factory() as second:
        mine = first.users.get(user.id)
        theirs = second.users.get(user.id)
        assert mine is not None
        assert theirs is not None
        theirs.change_display_name("Theirs", datetime.now(UTC))
        second.commit()
        mine.change_display_name("Mine", datetime.now(UTC))
        with pytest.raises(StaleUser):
            first.commit()
    rows = pg_backend.outbox_rows(user.id)
    assert kinds(rows) == [(REGISTERED, 1), (UPDATED, 2)]
    assert decode(rows[1]).display_name == "Theirs"  # type: ignore[union-attr]


def _session(uow: object) -> Session:
    assert isinstance(uow, SqlUnitOfWork)
    assert uow.session is not None
    return uow.session


def _driver_status(uow: object) -> pq.TransactionStatus:
    """Whether the unit of work's connection has a transaction open on the server."""
    dbapi: Any = _session(uow).connection().connection.dbapi_connection
    return pq.TransactionStatus(dbapi.info.transaction_status)


def _status_at_commit(uow: object) -> list[pq.TransactionStatus]:
    """The driver's status as the commit begins, after the commit's flush: IDLE if
    everything sent had committed on its own, with nothing left for a COMMIT to end."""
    seen: list[pq.TransactionStatus] = []
    connection = _session(uow).connection()
    info = cast("Any", connection.connection.dbapi_connection).info
    event.listen(connection, "commit", lambda *_: seen.append(info.transaction_status))
    return seen


def _version_seen_elsewhere(backend: SqlBackend, user_id: uuid.UUID) -> int:
    with backend.engine.connect() as conn:
        return int(conn.execute(select(users.c.version).where(users.c.id == user_id)).scalar_one())


@pytest.mark.stack
def test_a_read_then_one_save_at_commit_run_alone_without_begin_or_commit(
    pg_backend: SqlBackend,
) -> None:
    """The commonest unit of work, a profile change: the user's read runs outside any
    transaction, and the commit's one statement (the UPDATE with its outbox row) in a
    transaction of its own; no BEGIN and no COMMIT round trip (issue 21)."""
    # what makes a read outside the transaction read what it would read inside
    with pg_backend.engine.connect() as conn:
        assert conn.get_isolation_level() == "READ COMMITTED"
    user = register(pg_backend, "lena")
    with pg_backend.uow_factory() as uow:
        loaded = uow.users.get(user.id)
        assert loaded is not None
        assert _driver_status(uow) == pq.TransactionStatus.IDLE  # the read sent no BEGIN
        at_commit = _status_at_commit(uow)
        loaded.change_display_name("Lena Alone", datetime.now(UTC))
        uow.commit()
    # the statement had committed by itself: the COMMIT has nothing to send
    assert at_commit == [pq.TransactionStatus.IDLE]
    assert kinds(pg_backend.outbox_rows(user.id)) == [(REGISTERED, 1), (UPDATED, 2)]


@pytest.mark.stack
def test_a_flush_before_more_work_stays_in_the_transaction(pg_backend: SqlBackend) -> None:
    """Only the commit's flush runs alone: a flush with work still to come (here a
    rollback instead of the commit) saves nothing on its own."""
    user = register(pg_backend, "mona")
    with pg_backend.uow_factory() as uow:
        loaded = uow.users.get(user.id)
        assert loaded is not None
        loaded.change_display_name("Mona Flushed", datetime.now(UTC))
        _session(uow).flush()
        assert _driver_status(uow) == pq.TransactionStatus.INTRANS
        assert _version_seen_elsewhere(pg_backend, user.id) == 1  # not committed yet
        uow.rollback()
    assert _version_seen_elsewhere(pg_backend, user.id) == 1
    assert kinds(pg_backend.outbox_rows(user.id)) == [(REGISTERED, 1)]


@pytest.mark.stack
def test_a_save_after_other_statements_commits_with_them(pg_backend: SqlBackend) -> None:
    """A unit of work that sent a statement before its save (a password change revokes
    the refresh tokens first) keeps them in one transaction."""
    user = register(pg_backend, "nina")
    with pg_backend.uow_factory() as uow:
        loaded = uow.users.get(user.id)
        assert loaded is not None
        uow.refresh_tokens.revoke_user(user.id, datetime.now(UTC))
        at_commit = _status_at_commit(uow)
        loaded.change_display_name("Nina Together", datetime.now(UTC))
        uow.commit()
    assert at_commit == [pq.TransactionStatus.INTRANS]  # committed with the revocation
    assert _version_seen_elsewhere(pg_backend, user.id) == 2


@pytest.mark.stack
def test_a_flush_listener_after_the_writers_keeps_the_save_in_the_transaction(
    pg_backend: SqlBackend,
) -> None:
    """A ``before_flush`` listener after the outbox writer's may send SQL after the
    writer's statement: that statement then runs in the transaction, not alone."""
    user = register(pg_backend, "olga")
    sessions = session_factory(pg_backend.engine)
    seen_elsewhere: list[int] = []

    def after_the_writer(session: Session, *_: object) -> None:
        session.connection().execute(select(literal(1)))
        # the writer's statement has run: committed already, had it run alone
        seen_elsewhere.append(_version_seen_elsewhere(pg_backend, user.id))

    event.listen(sessions, "before_flush", after_the_writer)
    with SqlUnitOfWork(sessions) as uow:
        loaded = uow.users.get(user.id)
        assert loaded is not None
        loaded.change_display_name("Olga Listened", datetime.now(UTC))
        uow.commit()
    assert seen_elsewhere == [1]
    assert _version_seen_elsewhere(pg_backend, user.id) == 2


CHANGES = st.lists(
    st.sampled_from(["display_name", "same_display_name", "username", "email", "password"]),
    max_size=8,
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=CHANGES, delete=st.booleans())
def test_any_sequence_of_changes_gives_one_event_per_contract_change(
    backend: AuthBackend, changes: list[str], delete: bool
) -> None:
    """Whatever a user goes through, its events are numbered 1..n without gaps, one per
    contract change, and the last one carries the state that was saved."""
    hasher = FakePasswordHasher()
    user = register(backend, f"p{uuid.uuid4().hex[:12]}")
    uow, uid = backend.uow_factory, user.id
    proof = Reauthenticated(uid)  # the current password was given (login's part)
    expected = [REGISTERED]
    current = user
    for i, change in enumerate(changes):
        if change == "display_name":
            current = handlers.update_profile(
                uow, hasher, uid, handlers.ProfileChanges(display_name=f"name {i}")
            )
        elif change == "same_display_name":
            current = handlers.update_profile(
                uow, hasher, uid, handlers.ProfileChanges(display_name=current.display_name)
            )
        elif change == "username":
            current = rename(uow, uid, f"q{uuid.uuid4().hex[:12]}")
        elif change == "email":
            email = f"{uuid.uuid4().hex[:8]}@example.org"
            current = handlers.update_profile(
                uow, hasher, uid, handlers.ProfileChanges(email=email), reauthenticated=proof
            )
        else:
            current = handlers.update_profile(
                uow,
                hasher,
                uid,
                handlers.ProfileChanges(password=f"secret {i} {i}"),
                reauthenticated=proof,
            )
        if change in {"display_name", "username"}:
            expected.append(UPDATED)
    if delete:
        handlers.delete_user(uow, uid, reauthenticated=proof)
        expected.append(DELETED)

    rows = backend.outbox_rows(uid)
    assert kinds(rows) == [(kind, n) for n, kind in enumerate(expected, start=1)]
    last = decode(rows[-1])
    assert last.user_version == len(expected)
    if not delete:
        assert current.version == len(expected)
        assert (last.username, last.display_name) == (  # type: ignore[union-attr]
            current.username,
            current.display_name,
        )
