"""The users repository and the explicit outbox, on a SQLAlchemy session."""

import uuid
from collections.abc import Sequence

from playball_events.outbox.writer_sql import write_outbox_events
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from playball_auth.adapters.orm_sql import outbox, users
from playball_auth.adapters.user_events_sql import outbox_event
from playball_auth.domain.model import User, UserEvent
from playball_auth.domain.rules import username_key
from playball_auth.service_layer.ports import Outbox, UserRepository


class SqlUserRepository(UserRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user: User) -> None:
        self.session.add(user)

    def get(self, user_id: uuid.UUID) -> User | None:
        return self.session.get(User, user_id)

    def get_by_username(self, username: str) -> User | None:
        query = select(User).where(func.lower(users.c.username) == username_key(username))
        return self.session.scalars(query).one_or_none()

    def get_by_email(self, email: str) -> User | None:
        return self.session.scalars(select(User).where(users.c.email == email)).one_or_none()

    def delete(self, user: User) -> None:
        self.session.delete(user)

    def page_after(self, after: uuid.UUID | None, limit: int) -> Sequence[User]:
        query = select(User).order_by(users.c.id).limit(limit).with_for_update(read=True)
        if after is not None:
            query = query.where(users.c.id > after)
        return self.session.scalars(query).all()


class SqlOutbox(Outbox):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, events: Sequence[UserEvent]) -> None:
        write_outbox_events(self.session.connection(), outbox, [outbox_event(e) for e in events])
