"""Writes outbox rows in the same transaction as the change they describe.

A service installs :func:`install_outbox_writer` on its sessionmaker (or Session class)
with a *collector*: a function that looks at the session about to flush (``new``,
``dirty``, ``deleted`` and attribute history) and returns the events of that flush. The
listener inserts them into the outbox table through the session's own connection, so a
rollback removes the rows together with the change, and no service code ever calls
"publish".

It runs in ``before_flush`` rather than ``after_flush`` because a collector may still
change the objects being flushed there (a version column, for one), and those changes
must go into the same flush.

On PostgreSQL the table's insert trigger (:mod:`playball_events.outbox.table_sql`) runs
``pg_notify``: the relay is woken at commit (never for a rollback), exactly when it has
something new to read, at no extra round trip for the writer.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from opentelemetry import propagate
from sqlalchemy import Connection, Table, event, insert
from sqlalchemy.orm import Session, sessionmaker

from playball_events.outbox.model import NewOutboxEvent

OutboxCollector = Callable[[Session], Iterable[NewOutboxEvent]]
"""The events of the flush about to run, computed from the session's pending changes."""

HeadersProvider = Callable[[], Mapping[str, str]]


def trace_headers() -> dict[str, str]:
    """The active trace context as W3C headers (``traceparent``); empty without a trace.

    Uses OpenTelemetry's configured propagator, so the header appears whenever a span is
    current: one from an SDK, or a remote parent a service extracted from its request.
    """
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def outbox_rows(
    events: Sequence[NewOutboxEvent], extra_headers: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Insert parameters for ``events``; ``extra_headers`` never override an event's own."""
    rows = []
    for item in events:
        headers = {**(extra_headers or {}), **item.headers}
        rows.append(
            {
                "event_id": item.event_id,
                "aggregate_id": item.aggregate_id,
                "aggregate_version": item.aggregate_version,
                "record_type": item.record_type,
                "topic": item.topic,
                "subject": item.subject,
                "payload": item.payload,
                "schema_fingerprint": item.schema_fingerprint,
                "headers": headers,
                "created_at": item.created_at,
            }
        )
    return rows


def write_outbox_events(
    connection: Connection,
    table: Table,
    events: Sequence[NewOutboxEvent],
    headers: HeadersProvider = trace_headers,
) -> None:
    """Insert ``events`` into ``table`` in ``connection``'s transaction.

    Also the path for events that are not computed from a flush (a backfill).
    """
    if not events:
        return
    rows = outbox_rows(events, headers())
    # one row (the usual flush) as a plain execute: an executemany costs more per call
    connection.execute(insert(table), rows[0] if len(rows) == 1 else rows)


def install_outbox_writer(
    target: "sessionmaker[Any] | type[Session] | Session",
    collector: OutboxCollector,
    table: Table,
    headers: HeadersProvider = trace_headers,
) -> Callable[[], None]:
    """Make every flush of ``target``'s sessions write its collected events to ``table``.

    Returns a function that removes the listener again.
    """

    def before_flush(session: Session, _flush_context: object, _instances: object) -> None:
        events = list(collector(session))
        if events:
            write_outbox_events(session.connection(), table, events, headers)

    event.listen(target, "before_flush", before_flush)

    def uninstall() -> None:
        event.remove(target, "before_flush", before_flush)

    return uninstall
