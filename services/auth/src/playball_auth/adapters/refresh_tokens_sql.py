"""Refresh tokens on a SQLAlchemy session: they commit with the unit of work's change.

Spending is one conditional UPDATE whose row count says who won: on PostgreSQL a second
concurrent spend waits for the first's row lock and then finds ``spent_at`` set; on
SQLite, writers are serialized at BEGIN. Expired tokens are deleted now and then by the
unit of work adding a token (:class:`~.purge_schedule.PurgeSchedule`).
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, Executable, delete, insert, select, update
from sqlalchemy.orm import Session

from playball_auth.adapters.orm_sql import refresh_tokens
from playball_auth.adapters.purge_schedule import PurgeSchedule
from playball_auth.service_layer.ports import RefreshToken, RefreshTokenRepository

# a process deletes the expired tokens at most this often
PURGE_INTERVAL = timedelta(hours=1)
_purges = PurgeSchedule(PURGE_INTERVAL)


class SqlRefreshTokenRepository(RefreshTokenRepository):
    def __init__(self, session: Session, purges: PurgeSchedule = _purges) -> None:
        self.session = session
        self.purges = purges

    def _execute(self, statement: Executable) -> CursorResult[Any]:
        # on the session's connection, not through the ORM: an ORM execute would first
        # flush the user changed in the same unit of work, and a unique violation of
        # that flush must surface at commit (as UniqueViolation), not here
        return self.session.connection().execute(statement)

    def add(self, token: RefreshToken) -> None:
        if self.purges.due(token.issued_at):
            # expired tokens are refused anyway; nothing else reads them
            self._execute(
                delete(refresh_tokens).where(refresh_tokens.c.expires_at < token.issued_at)
            )
        self._execute(
            insert(refresh_tokens).values(
                id=token.id,
                token_hash=token.token_hash,
                chain_id=token.chain_id,
                user_id=token.user_id,
                issued_at=token.issued_at,
                expires_at=token.expires_at,
                spent_at=token.spent_at,
                revoked_at=token.revoked_at,
                credentials_version=token.credentials_version,
            )
        )

    def get_by_hash(self, token_hash: str) -> RefreshToken | None:
        row = (
            self._execute(select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash))
            .mappings()
            .one_or_none()
        )
        return None if row is None else RefreshToken(**row)

    def spend(self, token_id: uuid.UUID, now: datetime) -> bool:
        result = self._execute(
            update(refresh_tokens)
            .where(
                refresh_tokens.c.id == token_id,
                refresh_tokens.c.spent_at.is_(None),
                refresh_tokens.c.revoked_at.is_(None),
            )
            .values(spent_at=now)
        )
        return result.rowcount == 1

    def revoke_chain(self, chain_id: uuid.UUID, now: datetime) -> None:
        self._execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.chain_id == chain_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def revoke_user(self, user_id: uuid.UUID, now: datetime) -> None:
        self._execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
