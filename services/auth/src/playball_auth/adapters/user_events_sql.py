"""Change detection: which contract events a flush of User changes produces.

Installed as the outbox writer's collector (:func:`install`). For every User in the
session about to flush:

- new → UserRegistered at version 1;
- changed ``username`` or ``display_name`` (attribute history, so setting an equal value
  is no change) → version + 1 and UserUpdated;
- only ``email`` / ``password_hash`` changed → nothing: neither is in the contract;
- deleted → UserDeleted at version + 1 (the row itself is gone).

All events of one flush share its ``occurred_at``: the flush time, UTC (not the commit
time, which is unknown until the transaction ends).
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from playball_events.outbox.model import NewOutboxEvent
from playball_events.outbox.writer_sql import install_outbox_writer
from sqlalchemy import inspect
from sqlalchemy.orm import Session, sessionmaker

from playball_auth.adapters.orm_sql import outbox
from playball_auth.domain import events
from playball_auth.domain.model import CONTRACT_FIELDS, User


def _contract_changed(user: User) -> bool:
    attrs = inspect(user).attrs
    return any(attrs[name].history.has_changes() for name in CONTRACT_FIELDS)


def collect_user_events(session: Session) -> list[NewOutboxEvent]:
    now = datetime.now(UTC)
    found: list[NewOutboxEvent] = []
    for obj in session.new:
        if isinstance(obj, User):
            obj.version = 1
            found.append(events.registered(obj, now))
    for obj in session.dirty:
        if isinstance(obj, User) and _contract_changed(obj):
            obj.version += 1
            found.append(events.updated(obj, now))
    for obj in session.deleted:
        if isinstance(obj, User):
            found.append(events.deleted(obj.id, obj.version + 1, now))
    return found


def install(target: "sessionmaker[Any] | type[Session]") -> Callable[[], None]:
    """Make every flush through ``target`` write the users' events to the outbox."""
    return install_outbox_writer(target, collect_user_events, outbox)
