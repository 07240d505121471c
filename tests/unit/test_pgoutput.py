"""The replication protocol's framing and ``pgoutput``'s messages, decoded from bytes built
by hand here, field by field, as PostgreSQL's documentation lays them out ("Streaming
Replication Protocol", "Logical Replication Message Formats", protocol version 1).

The encoders below are written from the documentation, not from the module under test,
so a wrong field width or order in :mod:`playball_events.outbox.pgoutput` shows up here
rather than as garbage read from a live slot.
"""

import json
import struct
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import playball_pgwalk as pgwalk
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from playball_events.outbox.capture_wal_sql import DRIVER_DECODERS
from playball_events.outbox.pgoutput import (
    EVENT_COLUMNS,
    Begin,
    Commit,
    EventDecoder,
    Insert,
    Keepalive,
    ProtocolError,
    Relation,
    Skipped,
    lsn_text,
    parse_copy_data,
    parse_lsn,
    parse_pgoutput,
    parse_relation,
    parse_tuple,
    standby_status,
)
from playball_events.outbox.ports import OutboxEvent

# -- type oids (pg_type) of the outbox's columns, and the binary send formats ------------

INT4, INT8, BYTEA, TEXT, JSON, VARCHAR, TIMESTAMPTZ, UUID, JSONB = (
    23, 20, 17, 25, 114, 1043, 1184, 2950, 3802,
)  # fmt: skip
NUMERIC = 1700  # a type the decoder has no binary reader for

# The outbox table as the auth migrations create it (table_sql.py), column -> type oid
OUTBOX_TYPES = {
    "seq": INT8,
    "event_id": UUID,
    "aggregate_id": VARCHAR,
    "aggregate_version": INT8,
    "record_type": VARCHAR,
    "topic": VARCHAR,
    "subject": VARCHAR,
    "payload": BYTEA,
    "schema_fingerprint": VARCHAR,
    "headers": JSON,
    "created_at": TIMESTAMPTZ,
    "attempts": INT4,
}
# the relay's bookkeeping columns, never part of an event
BOOKKEEPING_TYPES = {
    "state": VARCHAR,
    "last_error": TEXT,
    "next_attempt_at": TIMESTAMPTZ,
    "claimed_by": VARCHAR,
    "claimed_until": TIMESTAMPTZ,
    "sent_at": TIMESTAMPTZ,
}
# every column, shuffled and with the bookkeeping interleaved: positions are the relation's
SHUFFLED = [
    "state", "payload", "seq", "claimed_by", "headers", "topic", "attempts", "last_error",
    "event_id", "created_at", "sent_at", "subject", "aggregate_version", "claimed_until",
    "schema_fingerprint", "record_type", "next_attempt_at", "aggregate_id",
]  # fmt: skip
ALL_TYPES = OUTBOX_TYPES | BOOKKEEPING_TYPES

OUTBOX_OID = 16_384
OTHER_OID = 16_500

# 2026-01-01T00:00:00Z in the protocol's clock, worked out by hand: 9,497 days after
# 2000-01-01 (26 years, 7 of them leap: 2000, 2004, ..., 2024) of 86,400 s
JAN_2026 = datetime(2026, 1, 1, tzinfo=UTC)
JAN_2026_US = 9_497 * 86_400 * 1_000_000


def cstring(text: str) -> bytes:
    return text.encode() + b"\x00"


def relation_message(
    oid: int, namespace: str, name: str, columns: Sequence[tuple[str, int]]
) -> bytes:
    """'R': Int32 oid, String namespace, String name, Int8 replica identity, Int16 column
    count, then per column Int8 flags (1: part of the key), String name, Int32 type oid,
    Int32 type modifier."""
    data = b"R" + struct.pack(">I", oid) + cstring(namespace) + cstring(name)
    data += b"d" + struct.pack(">H", len(columns))
    for column, type_oid in columns:
        data += struct.pack(">B", column == "seq") + cstring(column)
        data += struct.pack(">Ii", type_oid, -1)
    return data


def tuple_data(columns: Sequence[tuple[bytes, bytes | None]]) -> bytes:
    """TupleData: Int16 count, then per column Byte1 kind ('n' null, 'u' unchanged toast,
    't' text, 'b' binary), and for 't' / 'b' an Int32 length and the value."""
    data = struct.pack(">H", len(columns))
    for kind, value in columns:
        data += kind
        if value is not None:
            data += struct.pack(">I", len(value)) + value
    return data


def insert_message(oid: int, values: Sequence[bytes | None], new: bytes = b"N") -> bytes:
    """'I': Int32 relation oid, Byte1 'N' (a new tuple follows), TupleData."""
    columns = [(b"n", None) if v is None else (b"b", v) for v in values]
    return b"I" + struct.pack(">I", oid) + new + tuple_data(columns)


def begin_message(final_lsn: int, commit_us: int, xid: int) -> bytes:
    """'B': Int64 final LSN of the transaction, Int64 commit time, Int32 xid."""
    return b"B" + struct.pack(">QqI", final_lsn, commit_us, xid)


def commit_message(commit_lsn: int, end_lsn: int, commit_us: int) -> bytes:
    """'C': Int8 flags (unused, 0), Int64 commit LSN, Int64 end LSN, Int64 commit time."""
    return b"C" + struct.pack(">BQQq", 0, commit_lsn, end_lsn, commit_us)


def xlog_data(start: int, end: int, payload: bytes) -> bytes:
    """'w': Int64 start of the data, Int64 current end of WAL, Int64 send time, data."""
    return b"w" + struct.pack(">QQq", start, end, JAN_2026_US) + payload


def keepalive(wal_end: int, *, reply: bool) -> bytes:
    """'k': Int64 current end of WAL, Int64 send time, Byte1 1 if a reply is due now."""
    return b"k" + struct.pack(">QqB", wal_end, JAN_2026_US, reply)


def microseconds_since_2000(moment: datetime) -> int:
    return (moment - datetime(2000, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


# each outbox column of an event in its type's binary send format, as an insert sends it
SEND_FORMAT: dict[str, Callable[[OutboxEvent], bytes | None]] = {
    "seq": lambda e: struct.pack(">q", e.seq),
    "event_id": lambda e: e.event_id.bytes,
    "aggregate_id": lambda e: e.aggregate_id.encode(),
    "aggregate_version": lambda e: struct.pack(">q", e.aggregate_version),
    "record_type": lambda e: e.record_type.encode(),
    "topic": lambda e: e.topic.encode(),
    "subject": lambda e: e.subject.encode(),
    "payload": lambda e: e.payload,
    "schema_fingerprint": lambda e: e.schema_fingerprint.encode(),
    "headers": lambda e: json.dumps(e.headers).encode(),
    "created_at": lambda e: struct.pack(">q", microseconds_since_2000(e.created_at)),
    "attempts": lambda e: struct.pack(">i", e.attempts),
    # the bookkeeping columns at their defaults
    "state": lambda _e: b"pending",
    "last_error": lambda _e: None,
    "next_attempt_at": lambda _e: None,
    "claimed_by": lambda _e: None,
    "claimed_until": lambda _e: None,
    "sent_at": lambda _e: None,
}


def column_value(column: str, event: OutboxEvent) -> bytes | None:
    return SEND_FORMAT[column](event)


def outbox_relation(columns: Sequence[str] = SHUFFLED, oid: int = OUTBOX_OID) -> Relation:
    return parse_relation(
        relation_message(oid, "public", "outbox", [(c, ALL_TYPES[c]) for c in columns])
    )


def an_insert(oid: int, values: Sequence[bytes | None]) -> Insert:
    """An insert as the stream gives it: its message parsed."""
    message = parse_pgoutput(insert_message(oid, values))
    assert isinstance(message, Insert)
    return message


def outbox_insert(
    event: OutboxEvent, columns: Sequence[str] = SHUFFLED, oid: int = OUTBOX_OID
) -> Insert:
    return an_insert(oid, [column_value(c, event) for c in columns])


def an_event(**changes: object) -> OutboxEvent:
    fields: dict[str, object] = {
        "seq": 9_000_000_001,  # past 2**32: an int8 read as int4 would not survive
        "event_id": uuid.UUID("0f8e2d1c-3b4a-4c5d-8e6f-7a8b9c0d1e2f"),
        "aggregate_id": "5b1f6f0e-2c41-4b8e-9d57-1f7c4e2a9b30",
        "aggregate_version": 7,
        "record_type": "playball.auth.v1.UserUpdated",
        "topic": "auth.user-events",
        "subject": "auth.user-events-playball.auth.v1.UserUpdated",
        "payload": b"\x00\x02\xffavro",
        "schema_fingerprint": "ab" * 32,
        "headers": {},
        "created_at": JAN_2026 + timedelta(microseconds=123),
        "attempts": 0,
    }
    fields.update(changes)
    return OutboxEvent(**fields)  # type: ignore[arg-type]


# -- positions, and the status update ---------------------------------------------------


@pytest.mark.parametrize(
    ("lsn", "text"),
    [(0x1E0654650, "1/E0654650"), (0, "0/0"), (2**64 - 1, "FFFFFFFF/FFFFFFFF"), (16, "0/10")],
)
def test_a_position_is_written_and_read_as_postgresql_writes_it(lsn: int, text: str) -> None:
    assert lsn_text(lsn) == text
    assert parse_lsn(text) == lsn


def test_a_position_is_read_whatever_the_case_of_its_hex_digits() -> None:
    assert parse_lsn("1/e0654650") == 0x1E0654650


@settings(max_examples=50, deadline=None)
@given(lsn=st.integers(min_value=0, max_value=2**64 - 1))
def test_any_position_survives_its_text_form(lsn: int) -> None:
    assert parse_lsn(lsn_text(lsn)) == lsn


@pytest.mark.parametrize("reply", [False, True])
def test_the_standby_status_update_reports_the_position_thrice_with_the_clock(reply: bool) -> None:
    flushed = 0x1E0654650
    status = standby_status(flushed, JAN_2026 + timedelta(microseconds=123), reply=reply)

    # Byte1 'r', Int64 written, Int64 flushed, Int64 applied, Int64 clock, Byte1 reply:
    # 1 + 4 * 8 + 1 bytes (libpq's pg_recvlogical sends the same 34-byte buffer)
    assert len(status) == 34
    assert status[:1] == b"r"
    lsn = flushed.to_bytes(8, "big")
    assert (status[1:9], status[9:17], status[17:25]) == (lsn, lsn, lsn)
    assert int.from_bytes(status[25:33], "big", signed=True) == JAN_2026_US + 123
    assert status[33:] == (b"\x01" if reply else b"\x00")


def test_the_status_clock_counts_backwards_before_2000() -> None:
    status = standby_status(0, datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert int.from_bytes(status[25:33], "big", signed=True) == -1_000_000


# -- the replication stream's framing ----------------------------------------------------


def test_xlog_data_carries_the_servers_wal_end_and_one_pgoutput_message() -> None:
    begin = begin_message(final_lsn=0x1E0654700, commit_us=JAN_2026_US, xid=4_000_000_000)
    wal_end, message = parse_copy_data(xlog_data(0x1E0654650, 0x1E0660000, begin))
    assert wal_end == 0x1E0660000
    assert message == Begin(JAN_2026, 4_000_000_000)  # the xid unsigned, past 2**31


@pytest.mark.parametrize("reply", [False, True])
def test_a_keepalive_reports_the_wal_end_and_whether_a_reply_is_due(reply: bool) -> None:
    wal_end, message = parse_copy_data(keepalive(0x2_0000_0010, reply=reply))
    assert wal_end == 0x2_0000_0010
    assert message == Keepalive(0x2_0000_0010, reply)


@pytest.mark.parametrize("tag", [b"r", b"x", b"W", b""])
def test_an_unknown_replication_message_is_a_protocol_error(tag: bytes) -> None:
    with pytest.raises(ProtocolError, match="unknown replication message"):
        parse_copy_data(tag + bytes(17))


# -- pgoutput messages -------------------------------------------------------------------


def test_a_relation_maps_each_column_to_its_position_and_type() -> None:
    relation = parse_relation(
        relation_message(
            OUTBOX_OID,
            "auth",
            "outbox",
            [("seq", INT8), ("event_id", UUID), ("payload", BYTEA), ("headers", JSON)],
        )
    )
    assert relation == Relation(
        OUTBOX_OID,
        "auth.outbox",
        {"seq": 0, "event_id": 1, "payload": 2, "headers": 3},
        (INT8, UUID, BYTEA, JSON),
    )


def test_a_relation_message_is_recognised_by_its_tag() -> None:
    message = parse_pgoutput(relation_message(OTHER_OID, "public", "users", [("id", INT8)]))
    assert message == Relation(OTHER_OID, "public.users", {"id": 0}, (INT8,))


def test_tuple_data_keeps_binary_and_text_values_and_reads_null_and_unchanged_as_none() -> None:
    data = b"skip" + tuple_data(
        [(b"b", b"\x00\x01\x02"), (b"t", b"hello"), (b"n", None), (b"u", None), (b"b", b"")]
    )
    assert parse_tuple(data, 4) == (b"\x00\x01\x02", b"hello", None, None, b"")


def test_an_unknown_column_kind_is_a_protocol_error() -> None:
    data = tuple_data([(b"b", b"\x01"), (b"x", b"??")])
    with pytest.raises(ProtocolError, match="unknown column kind 'x'"):
        parse_tuple(data, 0)


def test_begin_gives_the_commit_time_and_the_transactions_id() -> None:
    message = parse_pgoutput(begin_message(0x10, JAN_2026_US + 5, 42))
    assert message == Begin(JAN_2026 + timedelta(microseconds=5), 42)


def test_commit_gives_the_end_of_the_transaction_and_its_time() -> None:
    message = parse_pgoutput(commit_message(0x1E0654650, 0x1E0654680, JAN_2026_US))
    assert message == Commit(end_lsn=0x1E0654680, commit_time=JAN_2026)


def test_an_insert_gives_its_relation_and_raw_values() -> None:
    message = parse_pgoutput(insert_message(OUTBOX_OID, [b"\x01", None, b"abc"]))
    assert isinstance(message, Insert)
    assert message.relation == OUTBOX_OID
    assert message.values == (b"\x01", None, b"abc")


def test_an_insert_framed_in_xlog_data_is_read_in_place() -> None:
    message = insert_message(OUTBOX_OID, [b"\x01", None, b"abc"])
    _wal_end, framed = parse_copy_data(xlog_data(0x10, 0x20, message))
    assert isinstance(framed, Insert)
    assert framed.values == (b"\x01", None, b"abc")


@pytest.mark.parametrize(
    "message",
    [
        b"Y" + struct.pack(">I", 25) + cstring("pg_catalog") + cstring("text"),  # type
        b"O" + struct.pack(">Q", 0x10) + cstring("origin"),  # origin
        b"T" + struct.pack(">IBI", 1, 0, OUTBOX_OID),  # truncate
        b"U" + struct.pack(">I", OUTBOX_OID) + b"N" + tuple_data([(b"n", None)]),  # update
        b"D" + struct.pack(">I", OUTBOX_OID) + b"K" + tuple_data([(b"n", None)]),  # delete
        b"M" + b"\x00" + struct.pack(">Q", 0x10) + cstring("prefix"),  # logical message
    ],
    ids=["type", "origin", "truncate", "update", "delete", "message"],
)
def test_messages_the_relay_has_no_use_for_are_skipped(message: bytes) -> None:
    assert parse_pgoutput(message) == Skipped()


@pytest.mark.parametrize("marker", [b"K", b"O"])
def test_an_insert_without_a_new_tuple_is_a_protocol_error(marker: bytes) -> None:
    with pytest.raises(ProtocolError, match="without a new tuple"):
        parse_pgoutput(insert_message(OUTBOX_OID, [b"\x01"], new=marker))


# -- outbox events -----------------------------------------------------------------------


def decoder_knowing_the_outbox(columns: Sequence[str] = SHUFFLED) -> EventDecoder:
    decoder = EventDecoder("outbox")
    decoder.add_relation(outbox_relation(columns))
    return decoder


def test_an_outbox_insert_decodes_to_its_event_whatever_the_column_order() -> None:
    event = an_event()
    decoded = decoder_knowing_the_outbox().event(outbox_insert(event))
    assert decoded == event
    assert decoded is not None
    assert decoded.created_at.tzinfo is not None  # aware: the relay compares it with UTC now
    assert decoded.created_at == datetime(2026, 1, 1, 0, 0, 0, 123, tzinfo=UTC)


@pytest.mark.parametrize(
    ("written", "read"),
    [("{}", {}), ('{"traceparent": "x"}', {"traceparent": "x"}), ("null", {})],
)
def test_json_headers_are_read_as_a_dict(written: str, read: dict[str, str]) -> None:
    relation = outbox_relation(list(EVENT_COLUMNS))
    values = [column_value(c, an_event()) for c in EVENT_COLUMNS]
    values[relation.positions["headers"]] = written.encode()
    decoder = EventDecoder("outbox")
    decoder.add_relation(relation)

    decoded = decoder.event(an_insert(OUTBOX_OID, values))

    assert decoded is not None
    assert decoded.headers == read


def test_jsonb_headers_are_read_past_their_version_byte() -> None:
    # a deployment whose headers column is jsonb: its send format is a version byte (1)
    # followed by the text
    columns = [(c, JSONB if c == "headers" else OUTBOX_TYPES[c]) for c in EVENT_COLUMNS]
    values = [column_value(c, an_event()) for c in EVENT_COLUMNS]
    values[EVENT_COLUMNS.index("headers")] = b"\x01" + b'{"traceparent": "00-ab-cd-01"}'
    decoder = EventDecoder("outbox")
    decoder.add_relation(parse_relation(relation_message(OUTBOX_OID, "public", "outbox", columns)))

    decoded = decoder.event(an_insert(OUTBOX_OID, values))

    assert decoded is not None
    assert decoded.headers == {"traceparent": "00-ab-cd-01"}


def test_an_insert_into_another_published_table_is_no_event() -> None:
    decoder = decoder_knowing_the_outbox()
    decoder.add_relation(
        parse_relation(relation_message(OTHER_OID, "public", "users", [("id", INT8)]))
    )
    assert decoder.event(an_insert(OTHER_OID, [struct.pack(">q", 1)])) is None


def test_another_schemas_outbox_table_is_decoded_too() -> None:
    # the decoder checks the table's name, not its schema (documented in EventDecoder)
    decoder = EventDecoder("outbox")
    columns = [(c, ALL_TYPES[c]) for c in SHUFFLED]
    decoder.add_relation(parse_relation(relation_message(OTHER_OID, "auth", "outbox", columns)))
    assert decoder.event(outbox_insert(an_event(), oid=OTHER_OID)) == an_event()


def test_a_relation_re_described_as_another_table_no_longer_gives_events() -> None:
    decoder = decoder_knowing_the_outbox()
    columns = [(c, ALL_TYPES[c]) for c in SHUFFLED]
    renamed = relation_message(OUTBOX_OID, "public", "outbox_archive", columns)
    decoder.add_relation(parse_relation(renamed))
    assert decoder.event(outbox_insert(an_event())) is None


def test_an_insert_before_its_relation_is_a_protocol_error() -> None:
    decoder = EventDecoder("outbox")
    with pytest.raises(ProtocolError, match=f"relation {OUTBOX_OID} before its description"):
        decoder.event(outbox_insert(an_event()))


@pytest.mark.parametrize("missing", EVENT_COLUMNS)
def test_an_outbox_relation_without_an_event_column_is_a_protocol_error(missing: str) -> None:
    decoder = EventDecoder("outbox")
    with pytest.raises(ProtocolError, match=rf"has no column {missing}\b"):
        decoder.add_relation(outbox_relation([c for c in SHUFFLED if c != missing]))


@pytest.mark.parametrize("column", ["seq", "created_at", "headers"])
def test_an_outbox_column_of_a_type_not_decoded_is_a_protocol_error_naming_it(
    column: str,
) -> None:
    columns = [(c, NUMERIC if c == column else ALL_TYPES[c]) for c in SHUFFLED]
    decoder = EventDecoder("outbox")
    with pytest.raises(ProtocolError, match=rf"column public\.outbox\.{column} has type oid 1700"):
        decoder.add_relation(
            parse_relation(relation_message(OUTBOX_OID, "public", "outbox", columns))
        )


def test_an_other_tables_columns_are_not_checked() -> None:
    decoder = EventDecoder("outbox")
    decoder.add_relation(
        parse_relation(relation_message(OTHER_OID, "public", "ledger", [("amount", NUMERIC)]))
    )
    assert decoder.event(an_insert(OTHER_OID, [b"\x00"])) is None


def test_an_outbox_row_inserted_without_a_payload_is_a_protocol_error() -> None:
    relation = outbox_relation()
    values = list(outbox_insert(an_event()).values)
    values[relation.positions["payload"]] = None
    with pytest.raises(ProtocolError, match="outbox row 9000000001 was inserted without a payload"):
        decoder_knowing_the_outbox().event(an_insert(OUTBOX_OID, values))


def test_an_insert_with_other_columns_than_its_relation_described_is_a_protocol_error() -> None:
    values = list(outbox_insert(an_event()).values)[:-1]
    with pytest.raises(ProtocolError, match="a tuple of 17 columns, its relation described 18"):
        decoder_knowing_the_outbox().event(an_insert(OUTBOX_OID, values))


# -- a whole stream, round trip ----------------------------------------------------------


# -- the stream's fast path (EventDecoder.frame_event) -------------------------------------

# the outbox's columns in the order its migrations create them (table_sql.py)
TABLE_ORDER = [
    "seq", "event_id", "aggregate_id", "aggregate_version", "record_type", "topic",
    "subject", "payload", "schema_fingerprint", "headers", "created_at", "state",
    "attempts", "last_error", "next_attempt_at", "claimed_by", "claimed_until", "sent_at",
]  # fmt: skip


def framed_insert(event: OutboxEvent, columns: Sequence[str], oid: int = OUTBOX_OID) -> bytes:
    values = [column_value(c, event) for c in columns]
    return xlog_data(0x10, 0x20, insert_message(oid, values))


def general_path(decoder: EventDecoder, frame: bytes) -> OutboxEvent | None:
    _wal_end, message = parse_copy_data(frame)
    assert isinstance(message, Insert)
    return decoder.event(message)


def test_an_outbox_insert_in_the_tables_order_is_read_by_the_fast_path_as_the_general_one() -> None:
    decoder = decoder_knowing_the_outbox(TABLE_ORDER)
    event = an_event(headers={"traceparent": "00-ab-cd-01"})
    frame = framed_insert(event, TABLE_ORDER)

    fast = decoder.frame_event(frame)

    assert fast == event
    assert fast == general_path(decoder, frame)
    assert type(fast) is OutboxEvent


@pytest.mark.parametrize(
    "frame",
    [
        xlog_data(0x10, 0x20, begin_message(0x20, JAN_2026_US, 7)),
        xlog_data(0x10, 0x20, commit_message(0x20, 0x28, JAN_2026_US)),
        keepalive(0x20, reply=False),
        xlog_data(0x10, 0x20, insert_message(OUTBOX_OID, [b"\x01"], new=b"K")),
    ],
    ids=["begin", "commit", "keepalive", "not-a-new-tuple"],
)
def test_frames_other_than_an_outbox_insert_are_left_to_the_general_path(frame: bytes) -> None:
    assert decoder_knowing_the_outbox(TABLE_ORDER).frame_event(frame) is None


def test_an_insert_with_a_null_event_column_is_left_to_the_general_path() -> None:
    # the general path is the one that refuses it, naming the row
    decoder = decoder_knowing_the_outbox(TABLE_ORDER)
    frame = framed_insert(an_event(payload=None), TABLE_ORDER)
    assert decoder.frame_event(frame) is None
    with pytest.raises(ProtocolError, match="without a payload"):
        general_path(decoder, frame)


def test_inserts_of_an_unknown_or_other_or_shuffled_table_are_left_to_the_general_path() -> None:
    decoder = decoder_knowing_the_outbox(TABLE_ORDER)
    decoder.add_relation(
        parse_relation(relation_message(OTHER_OID, "public", "users", [("id", INT8)]))
    )
    event = an_event()
    assert decoder.frame_event(framed_insert(event, TABLE_ORDER, oid=OTHER_OID + 1)) is None
    assert decoder.frame_event(framed_insert(event, ["seq"], oid=OTHER_OID)) is None
    shuffled = decoder_knowing_the_outbox(SHUFFLED)
    assert shuffled.frame_event(framed_insert(event, SHUFFLED)) is None
    assert general_path(shuffled, framed_insert(event, SHUFFLED)) == event


def test_a_table_re_described_in_another_order_leaves_the_fast_path() -> None:
    decoder = decoder_knowing_the_outbox(TABLE_ORDER)
    decoder.add_relation(outbox_relation(SHUFFLED))
    event = an_event()
    assert decoder.frame_event(framed_insert(event, SHUFFLED)) is None
    decoder.add_relation(outbox_relation(TABLE_ORDER))
    assert decoder.frame_event(framed_insert(event, TABLE_ORDER)) == event


def test_an_insert_with_fewer_columns_than_described_is_left_to_the_general_path() -> None:
    decoder = decoder_knowing_the_outbox(TABLE_ORDER)
    frame = framed_insert(an_event(), TABLE_ORDER[:-1])
    assert decoder.frame_event(frame) is None
    with pytest.raises(ProtocolError, match="columns"):
        general_path(decoder, frame)


@dataclass(frozen=True)
class Transaction:
    events: list[OutboxEvent]
    columns: list[str]  # the outbox relation's column order in this session


utf8_text = st.text(st.characters(codec="utf-8"), max_size=20)
events = st.builds(
    OutboxEvent,
    seq=st.integers(min_value=1, max_value=2**63 - 1),
    event_id=st.uuids(),
    aggregate_id=utf8_text,
    aggregate_version=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    record_type=utf8_text,
    topic=utf8_text,
    subject=utf8_text,
    payload=st.binary(max_size=40),
    schema_fingerprint=utf8_text,
    headers=st.dictionaries(utf8_text, utf8_text, max_size=3),
    created_at=st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    attempts=st.integers(min_value=0, max_value=2**31 - 1),
)
transactions = st.builds(
    Transaction,
    events=st.lists(events, max_size=6),
    # the table's own order (the fast path's) as often as any other
    columns=st.one_of(st.just(TABLE_ORDER), st.permutations(SHUFFLED)),
)


@settings(max_examples=50, deadline=None)
@given(stream=st.lists(transactions, min_size=1, max_size=3))
def test_any_events_sent_as_begin_relation_inserts_commit_decode_back_to_themselves(
    stream: list[Transaction],
) -> None:
    # as a session of the slot sends them: each transaction framed in XLogData, its
    # relation described before its first insert (and again after each table change,
    # here: a new column order per transaction), the position advancing
    frames: list[bytes] = []
    lsn = 0x1_0000_0000
    for transaction in stream:
        columns = transaction.columns
        relation = relation_message(
            OUTBOX_OID, "public", "outbox", [(c, ALL_TYPES[c]) for c in columns]
        )
        messages = [begin_message(lsn + 0x100, JAN_2026_US, 7), relation]
        messages += [
            insert_message(OUTBOX_OID, [column_value(c, e) for c in columns])
            for e in transaction.events
        ]
        messages.append(commit_message(lsn + 0x100, lsn + 0x108, JAN_2026_US))
        frames += [xlog_data(lsn, lsn + 0x108, m) for m in messages]
        frames.append(keepalive(lsn + 0x108, reply=False))
        lsn += 0x200

    decoder = EventDecoder("outbox")
    decoded: list[list[OutboxEvent]] = []
    ends: list[int] = []
    for frame in frames:
        _wal_end, message = parse_copy_data(frame)
        if isinstance(message, Begin):
            decoded.append([])
        elif isinstance(message, Relation):
            decoder.add_relation(message)
        elif isinstance(message, Insert):
            event = decoder.event(message)
            assert event is not None
            fast = decoder.frame_event(frame)  # where it answers, it agrees
            assert fast is None or fast == event
            decoded[-1].append(event)
        elif isinstance(message, Commit):
            ends.append(message.end_lsn)

    assert decoded == [t.events for t in stream]
    assert ends == [0x1_0000_0108 + 0x200 * i for i in range(len(stream))]


# -- the C walk under the fast path (playball_pgwalk.walk_binary) ------------------------
# The fast path's columns are walked and decoded in C; the general path stays Python. The
# two must agree on every insert the fast path takes, and the C walk must hand anything
# else back (None) rather than read past a value or guess at one.


@settings(max_examples=200, deadline=None)
@given(event=events, driver=st.booleans())
def test_any_event_in_the_tables_order_is_read_by_the_c_walk_as_by_the_general_path(
    event: OutboxEvent, driver: bool
) -> None:
    # with this module's decoders, and with the driver's for uuid and timestamptz (the relay's)
    decoder = EventDecoder("outbox", decoders=DRIVER_DECODERS if driver else None)
    decoder.add_relation(outbox_relation(TABLE_ORDER))
    frame = framed_insert(event, TABLE_ORDER)

    fast = decoder.frame_event(frame)

    assert fast is not None
    assert fast == event == general_path(decoder, frame)
    assert [type(v) for v in fast] == [type(v) for v in event]


# the fast path's frame: the XLogData header (25 bytes), 'I', the relation (4), 'N', the
# column count (2); then the tuple's columns, from here
TUPLE_COLUMNS_AT = 25 + 1 + 4 + 1 + 2


def test_a_frame_cut_short_anywhere_in_its_walked_columns_is_handed_back_not_read_past() -> None:
    decoder = decoder_knowing_the_outbox(TABLE_ORDER)
    frame = framed_insert(an_event(headers={"traceparent": "00-ab-cd-01"}), TABLE_ORDER)
    # the walk ends with attempts: the five bookkeeping columns after it (nulls) are not read
    walked_end = len(frame) - 5
    assert frame[walked_end:] == b"nnnnn"
    assert decoder.frame_event(frame[:walked_end]) is not None

    for end in range(TUPLE_COLUMNS_AT, walked_end):  # through every kind, length and value
        assert decoder.frame_event(frame[:end]) is None, end


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("seq", struct.pack(">i", 7)),  # an int8 of four bytes
        ("attempts", struct.pack(">q", 7)),  # an int4 of eight bytes
        ("aggregate_version", b""),
    ],
)
def test_a_fixed_width_value_of_the_wrong_width_is_left_to_the_general_path(
    column: str, value: bytes
) -> None:
    decoder = decoder_knowing_the_outbox(TABLE_ORDER)
    event = an_event()
    values = [value if c == column else column_value(c, event) for c in TABLE_ORDER]
    frame = xlog_data(0x10, 0x20, insert_message(OUTBOX_OID, values))
    assert decoder.frame_event(frame) is None


def test_a_column_length_past_the_end_of_the_frame_is_handed_back() -> None:
    decoder = decoder_knowing_the_outbox(TABLE_ORDER)
    frame = bytearray(framed_insert(an_event(), TABLE_ORDER))
    struct.pack_into(
        ">I", frame, TUPLE_COLUMNS_AT + 1, 0xFFFF_FFFF
    )  # the first column's length: 4 GiB
    assert decoder.frame_event(bytes(frame)) is None


def test_a_text_column_that_is_not_utf8_fails_as_the_general_path_fails() -> None:
    decoder = decoder_knowing_the_outbox(TABLE_ORDER)
    event = an_event()
    values = [b"\xff\xfe" if c == "topic" else column_value(c, event) for c in TABLE_ORDER]
    frame = xlog_data(0x10, 0x20, insert_message(OUTBOX_OID, values))
    with pytest.raises(UnicodeDecodeError):
        decoder.frame_event(frame)
    with pytest.raises(UnicodeDecodeError):
        general_path(decoder, frame)


@pytest.mark.parametrize(
    ("code", "raw", "value"),
    [
        (pgwalk.INT8, struct.pack(">q", -(2**63)), -(2**63)),
        (pgwalk.INT8, struct.pack(">q", 2**63 - 1), 2**63 - 1),
        (pgwalk.INT4, struct.pack(">i", -(2**31)), -(2**31)),
        (pgwalk.INT4, struct.pack(">i", 2**31 - 1), 2**31 - 1),
        (pgwalk.INT2, struct.pack(">h", -(2**15)), -(2**15)),
        (pgwalk.TEXT, "é𝄞\u0000x".encode(), "é𝄞\u0000x"),
        (pgwalk.TEXT, b"", ""),
        (pgwalk.BYTEA, b"\x00\xff", b"\x00\xff"),
    ],
)
def test_the_c_walk_decodes_each_type_it_knows_to_its_limits(
    code: int, raw: bytes, value: object
) -> None:
    data = tuple_data([(b"b", raw), (b"b", b"skipped")])
    assert pgwalk.walk_binary(data, 2, (code, None)) == [value]


def test_the_c_walk_calls_a_decoder_it_is_given_and_passes_its_errors_on() -> None:
    data = tuple_data([(b"b", b"abc"), (b"b", b"xyz")])
    assert pgwalk.walk_binary(data, 2, (bytes.upper, len)) == [b"ABC", 3]

    def refuse(_raw: bytes) -> None:
        raise ValueError("not this one")

    with pytest.raises(ValueError, match="not this one"):
        pgwalk.walk_binary(data, 2, (None, refuse))


@pytest.mark.parametrize(
    ("columns", "plan"),
    [
        ([(b"n", None)], (None,)),  # null
        ([(b"t", b"7")], (pgwalk.TEXT,)),  # a text value
        ([(b"u", None)], (None,)),  # unchanged toast
        ([(b"b", b"x")], (99,)),  # a code the walk does not know
    ],
)
def test_the_c_walk_hands_back_what_is_not_a_known_binary_value(
    columns: list[tuple[bytes, bytes | None]], plan: tuple[int | None, ...]
) -> None:
    assert pgwalk.walk_binary(tuple_data(columns), 2, plan) is None


@pytest.mark.parametrize("offset", [-1, 10**6])
def test_the_c_walk_starting_outside_the_data_hands_back(offset: int) -> None:
    assert pgwalk.walk_binary(tuple_data([(b"b", b"x")]), offset, (None,)) is None


def test_the_c_walk_refuses_arguments_of_the_wrong_type() -> None:
    with pytest.raises(TypeError):
        pgwalk.walk_binary(bytearray(b"b"), 0, (None,))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pgwalk.walk_binary(b"b", 0, [None])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pgwalk.walk_binary(b"b", 0)  # type: ignore[call-arg]


plan_items = st.one_of(
    st.none(), st.sampled_from([pgwalk.INT8, pgwalk.INT4, pgwalk.INT2, pgwalk.TEXT, pgwalk.BYTEA])
)


# a column as it may come, or not: a kind byte, a declared length that may lie, a value
columns_as_sent = st.builds(
    lambda kind, declared, value: kind + struct.pack(">I", declared) + value,
    st.sampled_from([b"b", b"b", b"b", b"t", b"n", b"u", b"x"]),
    st.one_of(st.integers(min_value=0, max_value=12), st.just(2**32 - 1)),
    st.binary(max_size=12),
)
tuples_as_sent = st.lists(columns_as_sent, max_size=8).map(b"".join)


@settings(max_examples=500, deadline=None)
@given(
    data=st.one_of(st.binary(max_size=64), tuples_as_sent),
    offset=st.integers(min_value=-8, max_value=72),
    plan=st.lists(plan_items, max_size=8).map(tuple),
)
def test_the_c_walk_over_any_bytes_gives_values_or_none_and_never_reads_past_them(
    data: bytes, offset: int, plan: tuple[int | None, ...]
) -> None:
    # the stream comes from the network: whatever the bytes, the walk answers within them
    try:
        values = pgwalk.walk_binary(data, offset, plan)
    except UnicodeDecodeError:
        return  # a text column that is not UTF-8, as bytes.decode says it
    if values is None:
        return
    assert len(values) == sum(item is not None for item in plan)
    walked = b"".join(
        v.encode() if isinstance(v, str) else v for v in values if not isinstance(v, int)
    )
    assert len(walked) <= len(data)
