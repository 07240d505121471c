"""The login throttle's state in the auth database, shared by every API process.

Each call is one short transaction on the engine, apart from the login's unit of work
(a failure is recorded even though the login changes nothing). Counting is atomic
across processes: a failure is one ``INSERT … ON CONFLICT DO UPDATE`` that increments
the stored count in the database, never a read-modify-write in Python, so two processes
recording failures of one account at the same moment count two. On PostgreSQL the upsert
holds the row's lock until commit, so the lock written next in the same transaction
belongs to the count just returned; SQLite serializes writers at BEGIN.

Rows older than the policy needs are deleted now and then by a failure being recorded
(:class:`~.purge_schedule.PurgeSchedule`): account state 24 h after its last failure,
address failures once they are out of the one-minute window.
"""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, case, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from playball_auth.adapters.orm_sql import login_failures_by_address, login_throttle_accounts
from playball_auth.adapters.purge_schedule import PurgeSchedule
from playball_auth.adapters.storage_errors_sql import translated_storage_errors
from playball_auth.domain.throttle import ADDRESS_WINDOW_S, STATE_EXPIRY_S, ThrottlePolicy
from playball_auth.service_layer.ports import LoginThrottle

accounts = login_throttle_accounts
addresses = login_failures_by_address

# a process deletes expired throttle rows at most this often
PURGE_INTERVAL = timedelta(seconds=ADDRESS_WINDOW_S)


def _seconds_until(moment: datetime, now: datetime) -> int:
    """Whole seconds to wait (rounded up, at least 1): Retry-After's unit."""
    return max(1, math.ceil((moment - now).total_seconds()))


class SqlLoginThrottle(LoginThrottle):
    def __init__(self, engine: Engine, policy: ThrottlePolicy) -> None:
        self.engine = engine
        self.policy = policy
        self.purges = PurgeSchedule(PURGE_INTERVAL)
        self._insert: Any = (
            postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        )

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with translated_storage_errors(), self.engine.begin() as connection:
            yield connection

    def retry_after(
        self, username_key: str | None, address: str | None, now: datetime
    ) -> int | None:
        until: list[datetime] = []
        with self._transaction() as connection:
            if username_key is not None:
                locked_until = connection.scalar(
                    select(accounts.c.locked_until).where(accounts.c.username_key == username_key)
                )
                if locked_until is not None and locked_until > now:
                    until.append(locked_until)
            if address is not None:
                # the limit-th most recent failure in the window: the address may try
                # again once it has left the window
                nth = connection.scalar(
                    select(addresses.c.failed_at)
                    .where(
                        addresses.c.address == address,
                        addresses.c.failed_at > now - timedelta(seconds=ADDRESS_WINDOW_S),
                    )
                    .order_by(addresses.c.failed_at.desc())
                    .offset(self.policy.address_failures_per_min - 1)
                    .limit(1)
                )
                if nth is not None:
                    until.append(nth + timedelta(seconds=ADDRESS_WINDOW_S))
        return _seconds_until(max(until), now) if until else None

    def record_failure(self, username_key: str | None, address: str | None, now: datetime) -> None:
        with self._transaction() as connection:
            if username_key is not None:
                self._count_account_failure(connection, username_key, now)
            if address is not None:
                connection.execute(insert(addresses).values(address=address, failed_at=now))
        if self.purges.due(now):
            self._purge(now)

    def _count_account_failure(self, connection: Connection, key: str, now: datetime) -> None:
        run_start = now - timedelta(seconds=self.policy.account_window_s)
        upsert = self._insert(accounts).values(
            username_key=key, failures=1, last_failure_at=now, locked_until=None
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=[accounts.c.username_key],
            set_={
                # a failure within the window of the last one extends the run; a later
                # one starts a new run
                "failures": case(
                    (accounts.c.last_failure_at >= run_start, accounts.c.failures + 1),
                    else_=1,
                ),
                "last_failure_at": upsert.excluded.last_failure_at,
                "locked_until": None,
            },
        ).returning(accounts.c.failures)
        failures: int = connection.execute(upsert).scalar_one()
        lock = self.policy.lock_seconds(failures)
        if lock:
            connection.execute(
                update(accounts)
                .where(accounts.c.username_key == key)
                .values(locked_until=now + timedelta(seconds=lock))
            )

    def record_success(self, username_key: str) -> None:
        with self._transaction() as connection:
            connection.execute(delete(accounts).where(accounts.c.username_key == username_key))

    def _purge(self, now: datetime) -> None:
        with self._transaction() as connection:
            connection.execute(
                delete(accounts).where(
                    accounts.c.last_failure_at < now - timedelta(seconds=STATE_EXPIRY_S)
                )
            )
            connection.execute(
                delete(addresses).where(
                    addresses.c.failed_at <= now - timedelta(seconds=ADDRESS_WINDOW_S)
                )
            )
