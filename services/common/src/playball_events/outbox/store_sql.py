"""The outbox table through SQLAlchemy Core: what PostgreSQL and SQLite do alike.

:class:`SqlOutboxStore` parks, reschedules, releases, retries, cleans up and reports
status with the same statements on both databases. How a batch is claimed and marked
sent differs: :mod:`.store_postgres_sql` claims with row locks, several relays at once;
:mod:`.store_sqlite_sql` runs one relay at a time. :mod:`.store_factory_sql` picks one by
the database URL.

Rows are never read by "seq greater than the last seen": seqs are taken before commit.
Times are the relay's UTC clock, passed as parameters, so both databases compare alike.
"""

import uuid
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.sql.elements import ColumnElement

from playball_events.outbox.model import OutboxState
from playball_events.outbox.ports import (
    OutboxEvent,
    OutboxStatus,
    OutboxStore,
    ParkedEvent,
    PayloadErasedError,
    Retry,
    StoreUnavailableError,
)
from playball_events.outbox.table_sql import OUTBOX_TABLE, define_outbox_table
from playball_events.utc_sql import as_utc

PENDING, SENT, PARKED = OutboxState.PENDING.value, OutboxState.SENT.value, OutboxState.PARKED.value


def utcnow() -> datetime:
    return datetime.now(UTC)


@contextmanager
def outages_as_unavailable() -> Iterator[None]:
    """Report a database that did not answer as :class:`StoreUnavailableError`.

    The relay backs off from that and tries again; any other error is a bug and ends it.
    """
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise StoreUnavailableError(str(exc).splitlines()[0]) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailableError(str(exc).splitlines()[0]) from exc
        raise


def in_delivery_order(events: list[OutboxEvent]) -> list[OutboxEvent]:
    """Each user's events in version order; users in the order their first event came."""
    first_seq: dict[str, int] = {}
    for event in events:
        first_seq[event.aggregate_id] = min(event.seq, first_seq.get(event.aggregate_id, event.seq))
    return sorted(events, key=lambda e: (first_seq[e.aggregate_id], e.aggregate_version))


class SqlOutboxStore(OutboxStore):
    """The outbox table of one database; a subclass per dialect claims and marks sent."""

    def __init__(
        self,
        engine: Engine,
        *,
        table_name: str = OUTBOX_TABLE,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.metadata = MetaData()
        self.table = define_outbox_table(self.metadata, table_name)
        self._now = now

    def create_table(self) -> None:
        """Create the outbox table (tests and benchmarks; services use their migrations)."""
        with self._begin() as conn:
            self.metadata.create_all(conn)

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        with outages_as_unavailable(), self.engine.begin() as conn:
            yield conn

    @abstractmethod
    def _seq_in(self, seqs: Sequence[int]) -> ColumnElement[bool]:
        """The condition "the row's seq is one of ``seqs``", as this database takes it best."""

    @abstractmethod
    def _end_claims(self, conn: Connection, relay_id: str) -> None:
        """Drop what else marks ``relay_id`` as claiming, once it gives all its rows back."""

    # -- settling -------------------------------------------------------------------------

    def park(self, relay_id: str, event: OutboxEvent, reason: str) -> None:
        self._park(event, reason, self.table.c.claimed_by == relay_id)

    def park_streamed(self, event: OutboxEvent, reason: str) -> None:
        """Park a row the log-based relay read from the log: nobody holds a lease on it."""
        self._park(event, reason, self._unleased())

    def reschedule(self, relay_id: str, retries: Sequence[Retry]) -> None:
        self._reschedule(retries, self.table.c.claimed_by == relay_id, failed=True)

    def defer(self, retries: Sequence[Retry], *, failed: bool) -> None:
        """Leave rows the log-based relay read to the table's claim (see CaptureStore)."""
        self._reschedule(retries, self._unleased(), failed=failed)

    def _unleased(self) -> ColumnElement[bool]:
        o = self.table
        return or_(o.c.claimed_until.is_(None), o.c.claimed_until < self._now())

    def _park(self, event: OutboxEvent, reason: str, holder: ColumnElement[bool]) -> None:
        o = self.table
        with self._begin() as conn:
            conn.execute(
                update(o)
                .where(o.c.seq == event.seq, o.c.state == PENDING, holder)
                .values(
                    state=PARKED,
                    last_error=reason,
                    attempts=o.c.attempts + 1,
                    claimed_by=None,
                    claimed_until=None,
                )
            )

    def _reschedule(
        self, retries: Sequence[Retry], holder: ColumnElement[bool], *, failed: bool
    ) -> None:
        if not retries:
            return
        o = self.table
        statement = (
            update(o)
            .where(o.c.seq == bindparam("b_seq"), o.c.state == PENDING, holder)
            .values(
                attempts=o.c.attempts + int(failed),
                last_error=bindparam("b_reason"),
                next_attempt_at=bindparam("b_not_before"),
                claimed_by=None,
                claimed_until=None,
            )
        )
        params = [
            {"b_seq": r.event.seq, "b_reason": r.reason[:2000], "b_not_before": r.not_before}
            for r in retries
        ]
        with self._begin() as conn:
            conn.execute(statement, params)

    def release(self, relay_id: str, events: Sequence[OutboxEvent] | None = None) -> None:
        o = self.table
        condition = and_(o.c.claimed_by == relay_id, o.c.state == PENDING)
        if events is not None:
            if not events:
                return
            condition = and_(condition, self._seq_in([e.seq for e in events]))
        with self._begin() as conn:
            conn.execute(update(o).where(condition).values(claimed_by=None, claimed_until=None))
            if events is None:
                self._end_claims(conn, relay_id)

    # -- operations -----------------------------------------------------------------------

    def retry(self, event_id: uuid.UUID) -> bool:
        o = self.table
        # due now, not NULL: a set next_attempt_at marks the row as the table's to send,
        # which the log-based relay (that read it from the log long ago) looks for
        with self._begin() as conn:
            result = conn.execute(
                update(o)
                .where(o.c.event_id == event_id, o.c.state == PARKED, o.c.payload.is_not(None))
                .values(state=PENDING, attempts=0, next_attempt_at=self._now(), last_error=None)
            )
            if result.rowcount:
                return True
            erased = conn.execute(
                select(o.c.seq).where(
                    o.c.event_id == event_id, o.c.state == PARKED, o.c.payload.is_(None)
                )
            ).first()
        if erased is not None:
            msg = (
                f"event {event_id} cannot be retried: its payload was erased when its user "
                "was deleted, so there is nothing to send"
            )
            raise PayloadErasedError(msg)
        return False

    def cleanup(self, older_than: timedelta, batch_size: int, max_batches: int) -> int:
        o = self.table
        cutoff = self._now() - older_than
        removed = 0
        for _ in range(max_batches):
            # Small batches, each its own transaction: a large DELETE holds locks for long.
            doomed = (
                select(o.c.seq)
                .where(o.c.state == SENT, o.c.sent_at < cutoff)
                .order_by(o.c.seq)
                .limit(batch_size)
                .scalar_subquery()
            )
            with self._begin() as conn:
                count = conn.execute(
                    delete(o).where(o.c.seq.in_(doomed), o.c.state == SENT)
                ).rowcount
            removed += count
            if count < batch_size:
                break
        return removed

    def status(self, parked_limit: int = 100) -> OutboxStatus:
        o = self.table
        now = self._now()
        with self._begin() as conn:
            counts: dict[str, int] = dict(
                conn.execute(select(o.c.state, func.count()).group_by(o.c.state)).all()
            )
            oldest = conn.execute(
                select(func.min(o.c.created_at)).where(o.c.state == PENDING)
            ).scalar()
            parked_rows = (
                conn.execute(
                    select(o).where(o.c.state == PARKED).order_by(o.c.seq).limit(parked_limit)
                ).all()
                if parked_limit > 0
                else []
            )
        parked = tuple(
            ParkedEvent(
                event_id=row.event_id,
                aggregate_id=row.aggregate_id,
                aggregate_version=row.aggregate_version,
                record_type=row.record_type,
                attempts=row.attempts,
                reason=row.last_error or "",
                created_at=as_utc(row.created_at),
                payload_erased=row.payload is None,
            )
            for row in parked_rows
        )
        return OutboxStatus(
            backlog=int(counts.get(PENDING, 0)),
            oldest_unsent_age=max(now - as_utc(oldest), timedelta(0)) if oldest else None,
            parked=parked,
            parked_count=int(counts.get(PARKED, 0)),
            sent=int(counts.get(SENT, 0)),
        )
