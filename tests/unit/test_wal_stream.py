"""WalChangeStream's positions over a scripted libpq connection (no server): what a read
returns as its position, and what a reopened stream may confirm.

The server resends everything after the slot's confirmed position to each new session,
so a position read in one session and never settled must not survive into the next:
confirming it there would skip transactions for good if that session ended too.
"""

import socket
import struct
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from playball_events.outbox import capture_wal_sql, pgoutput
from playball_events.outbox.capture_wal_sql import WalChangeStream
from playball_events.outbox.pgoutput import PG_EPOCH
from playball_events.outbox.ports import OutboxEvent
from psycopg import pq
from unit.test_pgoutput import (
    ALL_TYPES,
    JAN_2026_US,
    OUTBOX_OID,
    SHUFFLED,
    an_event,
    begin_message,
    column_value,
    commit_message,
    insert_message,
    keepalive,
    relation_message,
    xlog_data,
)


class ScriptedPGconn:
    """The few libpq calls the stream makes, answering from a list of CopyData messages."""

    def __init__(self, messages: list[bytes]) -> None:
        self.messages = list(messages)
        self.sent: list[bytes] = []
        self._ours, self._theirs = socket.socketpair()  # select() needs a real descriptor

    @property
    def socket(self) -> int:
        return self._ours.fileno()

    def get_copy_data(self, _async: int) -> tuple[int, bytes]:
        if not self.messages:
            return 0, b""
        data = self.messages.pop(0)
        return len(data), data

    def consume_input(self) -> None:
        """Nothing arrives but what was scripted."""

    def put_copy_data(self, data: bytes) -> int:
        self.sent.append(bytes(data))
        return 1

    def flush(self) -> int:
        return 0

    def close(self) -> None:
        self._ours.close()
        self._theirs.close()


class ScriptedConnection:
    def __init__(self, pgconn: ScriptedPGconn) -> None:
        self.pgconn = pgconn

    def close(self) -> None:
        self.pgconn.close()


def transaction_of(events: list[OutboxEvent], end_lsn: int, xid: int = 7) -> list[bytes]:
    """One transaction inserting ``events``, as the server sends it: begin, the outbox's
    relation, an insert each, commit (ending at ``end_lsn``)."""
    columns = [(c, ALL_TYPES[c]) for c in SHUFFLED]
    rows = [insert_message(OUTBOX_OID, [column_value(c, e) for c in SHUFFLED]) for e in events]
    return [
        xlog_data(end_lsn - 3, end_lsn, begin_message(end_lsn - 1, JAN_2026_US, xid)),
        xlog_data(end_lsn - 2, end_lsn, relation_message(OUTBOX_OID, "public", "outbox", columns)),
        *[xlog_data(end_lsn - 2, end_lsn, row) for row in rows],
        xlog_data(end_lsn - 1, end_lsn, commit_message(end_lsn - 1, end_lsn, JAN_2026_US)),
    ]


def one_transaction(end_lsn: int) -> list[bytes]:
    return transaction_of([an_event()], end_lsn)


def numbered(count: int) -> list[OutboxEvent]:
    """``count`` events, seq 1 to ``count``, each its own event id."""
    return [an_event(event_id=uuid.UUID(int=i), seq=i + 1) for i in range(count)]


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ScriptedPGconn]]:
    """Each open() of the stream gets the next scripted session."""
    scripted: list[ScriptedPGconn] = []
    opened: list[ScriptedPGconn] = []

    def connect(_url: str, **_extra: Any) -> ScriptedConnection:
        session = scripted.pop(0)
        opened.append(session)
        return ScriptedConnection(session)

    monkeypatch.setattr(capture_wal_sql, "_connect", connect)
    monkeypatch.setattr(WalChangeStream, "_ensure_slot", lambda _self: False)
    monkeypatch.setattr(WalChangeStream, "_start", lambda _self, _pgconn: None)
    yield scripted
    for session in opened:
        session.close()


def test_a_read_returns_whole_transactions_and_the_commit_end_as_its_position(
    sessions: list[ScriptedPGconn],
) -> None:
    sessions.append(ScriptedPGconn(one_transaction(1_000)))
    stream = WalChangeStream("postgresql://scripted/db", slot="s")
    stream.open()
    batch = stream.read(100, timeout=0)
    assert [e.event_id for e in batch.events] == [an_event().event_id]
    assert batch.position == 1_000


def test_an_idle_keepalive_moves_the_position_but_not_inside_a_transaction(
    sessions: list[ScriptedPGconn],
) -> None:
    transaction = one_transaction(1_000)
    # a keepalive inside the transaction says nothing about what is settled
    sessions.append(ScriptedPGconn([*transaction[:2], keepalive(5_000, reply=False),
                                    *transaction[2:], keepalive(2_000, reply=False)]))  # fmt: skip
    stream = WalChangeStream("postgresql://scripted/db", slot="s")
    stream.open()
    batch = stream.read(100, timeout=0)
    assert len(batch.events) == 1
    # the keepalive after the commit (2,000) counts, the one inside it (5,000) does not
    assert batch.position == 2_000


def test_a_reopened_stream_does_not_report_what_the_last_session_read_but_never_settled(
    sessions: list[ScriptedPGconn],
) -> None:
    sessions.extend([ScriptedPGconn(one_transaction(1_000)), ScriptedPGconn([])])
    stream = WalChangeStream("postgresql://scripted/db", slot="s")
    stream.open()
    assert stream.read(100, timeout=0).position == 1_000  # read, never confirmed
    stream.open()  # a reconnect: the server will resend from the confirmed position (none)
    assert stream.read(100, timeout=0).position == 0


def test_a_confirmed_position_is_sent_as_a_standby_status_and_kept_across_sessions(
    sessions: list[ScriptedPGconn],
) -> None:
    first, second = ScriptedPGconn(one_transaction(1_000)), ScriptedPGconn([])
    sessions.extend([first, second])
    stream = WalChangeStream("postgresql://scripted/db", slot="s")
    stream.open()
    stream.confirm(stream.read(100, timeout=0).position)
    status = first.sent[-1]
    assert status[:1] == b"r" and int.from_bytes(status[9:17], "big") == 1_000  # flushed
    stream.open()
    assert stream.read(100, timeout=0).position == 1_000


def test_libpq_exposes_what_the_scripted_connection_stands_in_for() -> None:
    # the stand-in mirrors psycopg's PGconn: keep the two in step
    for name in ("socket", "get_copy_data", "consume_input", "put_copy_data", "flush"):
        assert hasattr(pq.PGconn, name)


@given(
    st.uuids(),
    # microseconds from 2000-01-01 (the protocol's epoch), within Python's datetime
    st.integers(
        min_value=(datetime.min.replace(tzinfo=UTC) - PG_EPOCH) // timedelta(microseconds=1),
        max_value=(datetime.max.replace(tzinfo=UTC) - PG_EPOCH) // timedelta(microseconds=1),
    ),
)
def test_the_drivers_compiled_decoders_read_what_pgoutputs_own_read(
    value: uuid.UUID, microseconds: int
) -> None:
    """The stream decodes uuid and timestamptz with psycopg's C loaders: same values,
    same types, UTC timestamps, as the pure decoders of pgoutput the tests script."""
    stamp = struct.pack(">q", microseconds)
    for oid, raw in ((2950, value.bytes), (1184, stamp)):
        driver = capture_wal_sql.DRIVER_DECODERS[oid](raw)
        own = pgoutput._DECODERS[oid](raw)
        assert driver == own
        assert type(driver) is type(own)
    assert capture_wal_sql.DRIVER_DECODERS[1184](stamp).utcoffset() == timedelta(0)


def test_a_transaction_larger_than_a_part_comes_in_parts_its_position_moving_at_its_end(
    sessions: list[ScriptedPGconn],
) -> None:
    sessions.append(
        ScriptedPGconn([*one_transaction(1_000), *transaction_of(numbered(5), 2_000, xid=9)])
    )
    stream = WalChangeStream("postgresql://scripted/db", slot="s", part_size=2)
    stream.open()

    reads = [stream.read(100, timeout=0) for _ in range(4)]

    # the first transaction whole, then the large one's first part beside it
    assert [len(r.events) for r in reads] == [1 + 2, 2, 1, 0]
    # a part's position is the end of the last whole transaction before it
    assert [r.position for r in reads] == [1_000, 1_000, 2_000, 2_000]
    large = [e for r in reads for e in r.events][1:]
    assert [e.seq for e in large] == [1, 2, 3, 4, 5]
    assert [x for r in reads for x in r.xids][1:] == [9] * 5


def test_a_reopened_stream_reads_a_transaction_it_had_read_a_part_of_from_its_start(
    sessions: list[ScriptedPGconn],
) -> None:
    large = transaction_of(numbered(3), 2_000, xid=9)
    sessions.extend([ScriptedPGconn(large), ScriptedPGconn(large)])
    stream = WalChangeStream("postgresql://scripted/db", slot="s", part_size=2)
    stream.open()
    assert [e.seq for e in stream.read(100, timeout=0).events] == [1, 2]  # a part, no commit
    stream.open()  # a reconnect: the server sends the transaction again, from its begin

    again = [stream.read(100, timeout=0) for _ in range(2)]

    assert [[e.seq for e in r.events] for r in again] == [[1, 2], [3]]
    assert [r.position for r in again] == [0, 2_000]


def test_a_part_size_under_one_event_is_refused() -> None:
    with pytest.raises(ValueError, match="part_size 0"):
        WalChangeStream("postgresql://scripted/db", slot="s", part_size=0)
