"""Writes outbox rows in the same transaction as the change they describe.

A service's flush hook (a SQLAlchemy ``before_flush`` listener of its own) turns the
events its aggregates recorded into rows (``playball_events.outbox.model.new_outbox_event``)
and hands them to :func:`write_outbox_events` with the session's connection: a rollback
removes the rows together with the change, and no service code ever calls "publish".
Calls go from the service to this module, never back.

A service whose aggregate is deleted also calls :func:`erase_parked_payloads` in that
transaction: the aggregate's parked rows will never be sent, and their payloads hold its
personal data (docs/privacy.md).

On PostgreSQL the table's insert trigger (:mod:`playball_events.outbox.table_sql`) runs
``pg_notify``: the relay is woken at commit (never for a rollback), exactly when it has
something new to read, at no extra round trip for the writer.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry import propagate
from sqlalchemy import Connection, Table, insert, update

from playball_events.outbox.model import NewOutboxEvent, OutboxState

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

    From a flush hook, or for events enqueued without a change (a backfill).
    """
    if not events:
        return
    rows = outbox_rows(events, headers())
    # one row (the usual flush) as a plain execute: an executemany costs more per call
    connection.execute(insert(table), rows[0] if len(rows) == 1 else rows)


def erase_parked_payloads(
    connection: Connection, table: Table, aggregate_ids: Sequence[str]
) -> int:
    """Null the payloads of these aggregates' parked rows, in ``connection``'s transaction.

    For the flush that writes an aggregate's deletion: a parked row is never sent as it
    is, so its payload (a deleted user's username and display name) would otherwise stay
    for ever. The row stays, with its reason, for the operator (``outbox status`` shows it
    erased, ``outbox retry`` refuses it); and it no longer holds the aggregate's later
    rows back, so the deletion itself is delivered. Pending and sent rows are left alone:
    the first are delivered, the second removed after the relay's retention. How many
    rows it erased.
    """
    if not aggregate_ids:
        return 0
    result = connection.execute(
        update(table)
        .where(
            table.c.aggregate_id.in_(list(aggregate_ids)),
            table.c.state == OutboxState.PARKED.value,
            table.c.payload.is_not(None),
        )
        .values(payload=None)
    )
    return int(result.rowcount)
