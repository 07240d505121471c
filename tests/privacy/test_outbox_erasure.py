"""A user's deletion erases the payloads of its parked outbox rows, in its own transaction.

Through auth's real flush hook, on SQLite and PostgreSQL: the parked row keeps its reason
but loses its payload, stops holding the user's later rows back (so the deletion itself
goes out), `outbox status` shows it erased and `outbox retry` refuses it clearly. Other
users' parked rows are left as they are."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playball_auth.adapters.database_sql import make_engine, migrate, session_factory
from playball_auth.adapters.privacy_scan_sql import OUTBOX, USERS, scan_user
from playball_auth.adapters.unit_of_work_sql import SqlUnitOfWork
from playball_auth.domain.model import User
from playball_events.outbox.commands import app as outbox_app
from playball_events.outbox.ports import OutboxEvent, PayloadErasedError
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.outbox.store_sql import SqlOutboxStore
from sqlalchemy import Engine, text
from support.databases import fresh_postgres
from typer.testing import CliRunner

RELAY = "privacy-test"
LEASE = timedelta(seconds=60)
PARK_REASON = "the broker refused it: message too large"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.stack)])
def auth_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated auth database of the test's own."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'auth.db'}"
        _migrate(url)
        yield url
        return
    with fresh_postgres(request.getfixturevalue("database_url"), "playball_auth_erasure") as url:
        _migrate(url)
        yield url


def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()


@pytest.fixture
def engine(auth_url: str) -> Iterator[Engine]:
    engine = make_engine(auth_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(auth_url: str) -> Iterator[SqlOutboxStore]:
    store = open_outbox_store(auth_url)
    yield store
    store.engine.dispose()


def now() -> datetime:
    return datetime.now(UTC)


def register(engine: Engine, name: str) -> uuid.UUID:
    sessions = session_factory(engine)  # maps User first: a User made before is not saved
    user = User.register(
        username=name,
        email=f"{name}@example.org",
        password_hash="not-a-real-hash",
        display_name=f"Display {name}",
        now=now(),
    )
    with SqlUnitOfWork(sessions) as uow:
        uow.users.add(user)
        uow.commit()
    return user.id


def rename(engine: Engine, user_id: uuid.UUID, display_name: str) -> None:
    with SqlUnitOfWork(session_factory(engine)) as uow:
        user = uow.users.get(user_id)
        assert user is not None
        user.change_display_name(display_name, now())
        uow.commit()


def delete(engine: Engine, user_id: uuid.UUID) -> None:
    with SqlUnitOfWork(session_factory(engine)) as uow:
        user = uow.users.get(user_id)
        assert user is not None
        user.delete(now())
        uow.users.delete(user)
        uow.commit()


def park_first(store: SqlOutboxStore, user_id: uuid.UUID) -> OutboxEvent:
    """Claim everything, park the user's first row, give the rest back."""
    claimed = store.claim_batch(RELAY, 100, LEASE)
    first = next(e for e in claimed if e.aggregate_id == str(user_id))
    store.park(RELAY, first, PARK_REASON)
    store.release(RELAY)
    return first


def payload_of(engine: Engine, event_id: uuid.UUID) -> bytes | None:
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT payload FROM outbox WHERE event_id = :id"),
            {"id": event_id.hex if engine.dialect.name == "sqlite" else event_id},
        ).scalar_one()
    return None if found is None else bytes(found)


def test_a_deletion_erases_its_users_parked_rows_and_then_goes_out(
    engine: Engine, store: SqlOutboxStore, auth_url: str
) -> None:
    user = register(engine, f"erased{uuid.uuid4().hex[:8]}")
    rename(engine, user, "Renamed Once")
    parked = park_first(store, user)
    assert store.claim_batch(RELAY, 100, LEASE) == []  # v2 waits behind the parked v1
    assert payload_of(engine, parked.event_id)

    delete(engine, user)

    assert payload_of(engine, parked.event_id) is None
    [shown] = store.status().parked
    assert (shown.event_id, shown.reason, shown.payload_erased) == (
        parked.event_id,
        PARK_REASON,  # the reason stays for the operator
        True,
    )
    # the erased row holds nothing back: the rename and the deletion go out, in order
    claimed = store.claim_batch(RELAY, 100, LEASE)
    assert [(e.aggregate_version, e.record_type.rsplit(".", 1)[1]) for e in claimed] == [
        (2, "UserUpdated"),
        (3, "UserDeleted"),
    ]
    with pytest.raises(PayloadErasedError, match="payload was erased"):
        store.retry(parked.event_id)
    assert store.status().parked[0].event_id == parked.event_id  # still parked, unchanged

    runner = CliRunner()
    retried = runner.invoke(outbox_app, ["retry", str(parked.event_id), "--database-url", auth_url])
    assert retried.exit_code == 1
    assert f"error: event {parked.event_id} cannot be retried" in retried.output
    assert "Traceback" not in retried.output
    status = runner.invoke(outbox_app, ["status", "--database-url", auth_url])
    assert status.exit_code == 0
    assert "payload erased: user deleted" in status.output
    as_json = runner.invoke(outbox_app, ["status", "--json", "--database-url", auth_url])
    assert '"payload_erased": true' in as_json.output


def test_only_the_deleted_users_parked_rows_are_erased(
    engine: Engine, store: SqlOutboxStore
) -> None:
    kept_user = register(engine, f"kept{uuid.uuid4().hex[:8]}")
    kept = park_first(store, kept_user)
    gone_user = register(engine, f"gone{uuid.uuid4().hex[:8]}")
    gone = park_first(store, gone_user)
    delete(engine, gone_user)
    assert payload_of(engine, gone.event_id) is None
    assert payload_of(engine, kept.event_id)
    assert store.retry(kept.event_id)  # still an ordinary parked row


def test_the_auth_scan_finds_the_account_and_each_row_that_holds_a_name(
    engine: Engine, store: SqlOutboxStore
) -> None:
    user = register(engine, f"scanned{uuid.uuid4().hex[:8]}")
    rename(engine, user, "Renamed")
    before = scan_user(engine, user)
    places = {place.location: place for place in before.places}
    [account] = places[USERS].findings
    assert account.fields == ("username", "display_name", "email")
    assert [f.fields for f in places[OUTBOX].findings] == [("username", "display_name")] * 2

    parked = park_first(store, user)
    delete(engine, user)
    after = {place.location: place for place in scan_user(engine, user).places}
    assert after[USERS].findings == ()  # a hard delete
    # the erased parked row and the deletion hold no name; the pending rename still does
    # until it is sent and the relay's retention has passed
    [pending] = after[OUTBOX].findings
    assert str(parked.event_id) not in pending.position
    assert "v2" in pending.position
    claimed = store.claim_batch(RELAY, 100, LEASE)
    store.mark_sent(claimed)
    with engine.begin() as connection:  # sent long ago, as the retention sees it
        connection.execute(
            text("UPDATE outbox SET sent_at = :t WHERE sent_at IS NOT NULL"),
            {"t": now() - timedelta(days=2)},
        )
    assert store.cleanup(timedelta(days=1), 100, 10) == 2
    assert scan_user(engine, user).findings == []


def test_an_unreadable_database_is_a_place_with_its_error(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'auth.db'}")
    try:
        report = scan_user(engine, uuid.uuid4())
    finally:
        engine.dispose()
    assert {place.location for place in report.unreachable} == {USERS, OUTBOX}
    assert report.findings == []


def test_rows_are_selected_by_the_user_alone(engine: Engine) -> None:
    # a scan reads the user's rows only: another user's name is no finding of this one
    other = register(engine, f"other{uuid.uuid4().hex[:8]}")
    assert scan_user(engine, other).findings != []
    assert scan_user(engine, uuid.uuid4()).findings == []
