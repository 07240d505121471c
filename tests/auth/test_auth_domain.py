"""The User aggregate records the contract events of its changes, with their versions."""

from datetime import UTC, datetime, timedelta

from playball_auth.domain.model import User
from playball_events.contracts import UserDeleted, UserRegistered, UserUpdated

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LATER = NOW + timedelta(seconds=1)


def registered() -> User:
    return User.register(
        username="alice",
        email="Alice@Example.org",
        password_hash="hash",
        display_name="Alice",
        now=NOW,
    )


def test_registering_records_the_full_public_state_at_version_1() -> None:
    user = registered()
    (event,) = user.events
    assert isinstance(event, UserRegistered)
    assert (event.user_id, event.user_version, event.occurred_at) == (user.id, 1, NOW)
    assert (event.username, event.display_name) == ("alice", "Alice")
    assert user.version == 1


def test_each_contract_change_bumps_the_version_and_records_the_new_state() -> None:
    user = registered()
    user.events.clear()
    user.change_display_name("Al", LATER)
    user.rename("alicia", LATER)
    assert user.version == 3
    assert [type(e) for e in user.events] == [UserUpdated, UserUpdated]
    assert [
        (e.user_version, e.username, e.display_name, e.occurred_at)  # type: ignore[union-attr]
        for e in user.events
    ] == [(2, "alice", "Al", LATER), (3, "alicia", "Al", LATER)]
    assert len({e.event_id for e in user.events}) == 2


def test_an_equal_value_email_or_password_records_nothing() -> None:
    user = registered()
    user.events.clear()
    user.change_display_name("Alice", LATER)
    user.rename("alice", LATER)
    user.change_email("new@example.org")
    user.change_password("other hash")
    assert user.events == []
    assert user.version == 1
    assert (user.email, user.password_hash) == ("new@example.org", "other hash")


def test_a_password_change_and_a_deletion_bump_the_credentials_version_a_rehash_does_not() -> None:
    user = registered()
    assert user.credentials_version == 1
    user.rehash_password("same password, new cost")
    assert user.credentials_version == 1
    user.change_password("new password")
    assert user.credentials_version == 2
    user.delete(LATER)
    assert user.credentials_version == 3


def test_deleting_records_user_deleted_at_the_next_version() -> None:
    user = registered()
    user.change_display_name("Al", NOW)
    user.events.clear()
    user.delete(LATER)
    (event,) = user.events
    assert isinstance(event, UserDeleted)
    assert (event.user_id, event.user_version, event.occurred_at) == (user.id, 3, LATER)


def test_the_backfill_event_is_the_current_state_and_is_not_recorded() -> None:
    user = registered()
    user.rename("alicia", NOW)
    user.events.clear()
    event = user.registered_event(LATER)
    assert isinstance(event, UserRegistered)
    assert (event.user_version, event.username, event.occurred_at) == (2, "alicia", LATER)
    assert user.events == []
