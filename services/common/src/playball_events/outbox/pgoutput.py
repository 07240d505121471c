"""PostgreSQL's logical replication stream, as the log-based relay reads it: the framing of
the replication protocol and the ``pgoutput`` plugin's messages, decoded to outbox events.

Pure functions over bytes (no I/O), so every branch is unit-tested without a server; the
one module that talks to PostgreSQL is :mod:`.capture_wal_sql`.

What arrives in a ``CopyData`` message of ``START_REPLICATION … LOGICAL``:

- ``w`` XLogData: wal start, wal end, send time, then one ``pgoutput`` message;
- ``k`` primary keepalive: wal end, send time, "reply now".

What the client sends back is a standby status update (``r``): the position written,
flushed and applied, the clock, "reply now". The flushed position is what the slot
confirms: the server keeps (and resends after a reconnect) everything after it.

``pgoutput`` (protocol 1, ``binary 'true'``) sends, per committed transaction that
touched the publication: ``B`` begin, ``R`` relation (a table's columns, before the first
row of it in the session and after each change of it), ``I`` insert, ``C`` commit. Other
messages (``Y`` type, ``O`` origin, ``T`` truncate, updates and deletes when published)
are skipped: the publication publishes inserts only. Column values come in the binary
"send" format of their types, decoded here for the outbox's column types.

Reference: PostgreSQL 15 documentation, "Streaming Replication Protocol" and "Logical
Replication Message Formats".
"""

import struct
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from playball_pgwalk import BYTEA, INT2, INT4, INT8, TEXT, walk_binary

from playball_events.outbox.model import headers_of
from playball_events.outbox.ports import OutboxEvent

# PostgreSQL's epoch for timestamps and the replication protocol's clock
PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

_U64 = struct.Struct(">Q")
_I64 = struct.Struct(">q")
_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")
_U16 = struct.Struct(">H")
_XLOG_DATA = struct.Struct(">QQq")  # wal start, wal end, send time
_KEEPALIVE = struct.Struct(">Qq?")  # wal end, send time, reply requested
_STATUS = struct.Struct(">cQQQq?")  # 'r', written, flushed, applied, clock, reply requested
_BEGIN = struct.Struct(">Qqi")  # final lsn, commit time, xid
_COMMIT = struct.Struct(">BQQq")  # flags, commit lsn, end lsn, commit time


def lsn_text(lsn: int) -> str:
    """``0x1E0654650`` as PostgreSQL writes it: ``1/E0654650``."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def parse_lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def pg_time(microseconds: int) -> datetime:
    return PG_EPOCH + timedelta(microseconds=microseconds)


def pg_clock(now: datetime) -> int:
    """``now`` in the protocol's clock: microseconds since 2000-01-01 UTC."""
    delta = now - PG_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def standby_status(flushed: int, now: datetime, *, reply: bool = False) -> bytes:
    """The standby status update confirming everything up to ``flushed``."""
    return _STATUS.pack(b"r", flushed, flushed, flushed, pg_clock(now), reply)


# -- column values, by type oid (pg_type), in their binary send format ------------------

_DECODERS: Mapping[int, Callable[[bytes], Any]] = {
    16: lambda raw: raw == b"\x01",  # bool
    17: bytes,  # bytea
    20: lambda raw: _I64.unpack(raw)[0],  # int8
    21: lambda raw: struct.unpack(">h", raw)[0],  # int2
    23: lambda raw: _I32.unpack(raw)[0],  # int4
    25: bytes.decode,  # text
    114: bytes.decode,  # json: its text
    1043: bytes.decode,  # varchar
    1114: lambda raw: pg_time(_I64.unpack(raw)[0]),  # timestamp (the outbox stores UTC)
    1184: lambda raw: pg_time(_I64.unpack(raw)[0]),  # timestamptz
    2950: lambda raw: uuid.UUID(bytes=raw),  # uuid
    3802: lambda raw: raw[1:].decode(),  # jsonb: a version byte, then its text
}

# The types the fast path's walk (playball_pgwalk, in C) decodes itself, to the same
# values as the decoders above; the others' decoders are called from it.
_NATIVE: Mapping[int, int] = {
    17: BYTEA,
    20: INT8,
    21: INT2,
    23: INT4,
    25: TEXT,
    114: TEXT,
    1043: TEXT,
}
# a column of the fast path's plan: a type the walk decodes, a decoder, or None (skipped)
_Walk = int | Callable[[bytes], Any] | None

# the columns an outbox event is made of (see table_sql); the others are the relay's own
# bookkeeping and are always at their defaults in an insert
EVENT_COLUMNS = (
    "seq",
    "event_id",
    "aggregate_id",
    "aggregate_version",
    "record_type",
    "topic",
    "subject",
    "payload",
    "schema_fingerprint",
    "headers",
    "created_at",
    "attempts",
)
_PAYLOAD = EVENT_COLUMNS.index("payload")
_HEADERS = EVENT_COLUMNS.index("headers")


class ProtocolError(ValueError):
    """The stream holds something the relay cannot read: a bug or an incompatible server."""


@dataclass(frozen=True, slots=True)
class Relation:
    """A table as ``pgoutput`` described it: which tuple position holds which column."""

    oid: int
    name: str
    positions: Mapping[str, int]  # column name -> position in the tuple
    types: tuple[int, ...]  # type oid per position


@dataclass(frozen=True, slots=True)
class Begin:
    commit_time: datetime
    xid: int  # the transaction's id (32 bits, as the protocol sends it)


@dataclass(frozen=True, slots=True)
class Commit:
    end_lsn: int  # confirming it confirms the whole transaction
    commit_time: datetime


class Insert(NamedTuple):
    """An insert, undecoded: its tuple starts at ``data[offset]``. The relay reads it once,
    straight into an event (:meth:`EventDecoder.event`), instead of first into raw values.
    A named tuple, not a frozen dataclass: one is made per event, in a fraction of the
    time."""

    relation: int
    data: bytes
    offset: int

    @property
    def values(self) -> tuple[bytes | None, ...]:
        """Its raw values, one per column (binary or text, as sent; None for null)."""
        return parse_tuple(self.data, self.offset)


@dataclass(frozen=True, slots=True)
class Keepalive:
    wal_end: int
    reply_requested: bool


@dataclass(frozen=True, slots=True)
class Skipped:
    """A message the relay has no use for (type, origin, truncate, update, delete)."""


Message = Relation | Begin | Commit | Insert | Keepalive | Skipped


def _cstring(data: bytes, offset: int) -> tuple[str, int]:
    end = data.index(b"\x00", offset)
    return data[offset:end].decode(), end + 1


def parse_relation(data: bytes) -> Relation:
    (oid,) = _U32.unpack_from(data, 1)
    namespace, offset = _cstring(data, 5)
    name, offset = _cstring(data, offset)
    offset += 1  # replica identity
    (count,) = _U16.unpack_from(data, offset)
    offset += 2
    positions: dict[str, int] = {}
    types: list[int] = []
    for position in range(count):
        offset += 1  # flags (part of the key)
        column, offset = _cstring(data, offset)
        (type_oid,) = _U32.unpack_from(data, offset)
        offset += 8  # type oid, type modifier
        positions[column] = position
        types.append(type_oid)
    return Relation(oid, f"{namespace}.{name}", positions, tuple(types))


# What a walk of a tuple does with each column, by position: None skips it; otherwise
# (where, decode) puts ``decode(raw value)`` at ``where`` in the result.
_Step = tuple[int, Callable[[bytes], Any]] | None


def _walk_tuple(
    data: bytes,
    offset: int,
    steps: Sequence[_Step],
    size: int,
    columns: int,
    _length: Any = _U32.unpack_from,
) -> list[Any]:
    """A ``TupleData`` of ``columns`` columns at ``data[offset]``, in one pass: each column
    null, or its value (text or binary, as sent), placed and decoded as ``steps`` says;
    ``size`` values out. The walk stops after the last step: the columns past it are not
    read at all. Run once per column of every event: the common cases are tested first,
    with constants."""
    (count,) = _U16.unpack_from(data, offset)
    if count != columns:
        msg = f"a tuple of {count} columns, its relation described {columns}"
        raise ProtocolError(msg)
    offset += 2
    values: list[Any] = [None] * size
    for step in steps:
        kind = data[offset]
        if kind == 0x6E:  # 'n' null
            offset += 1
            continue
        if kind not in {0x62, 0x74}:  # neither 'b' binary nor 't' text
            if kind == 0x75:  # 'u' unchanged toast (never in an insert): no value
                offset += 1
                continue
            msg = f"unknown column kind {chr(kind)!r} in a pgoutput tuple"
            raise ProtocolError(msg)
        start = offset + 5
        offset = start + _length(data, offset + 1)[0]
        if step is not None:
            values[step[0]] = step[1](data[start:offset])
    return values


def parse_tuple(data: bytes, offset: int) -> tuple[bytes | None, ...]:
    """A ``TupleData``: each column null, or its value (text or binary, as sent)."""
    (count,) = _U16.unpack_from(data, offset)
    return tuple(_walk_tuple(data, offset, [(i, bytes) for i in range(count)], count, count))


def parse_pgoutput(data: bytes, start: int = 0) -> Message:
    """One ``pgoutput`` message: ``data[start:]`` (the payload of an XLogData)."""
    tag = data[start : start + 1]
    if tag == b"I":
        return _insert(data, start)
    if tag == b"B":
        _final_lsn, commit_time, xid = _BEGIN.unpack_from(data, start + 1)
        return Begin(pg_time(commit_time), xid & 0xFFFFFFFF)
    if tag == b"C":
        _flags, _commit_lsn, end_lsn, commit_time = _COMMIT.unpack_from(data, start + 1)
        return Commit(end_lsn, pg_time(commit_time))
    if tag == b"R":
        return parse_relation(data[start:])
    return Skipped()


def _insert(data: bytes, start: int) -> Insert:
    (relation,) = _U32.unpack_from(data, start + 1)
    if data[start + 5] != 0x4E:  # 'N': a new tuple
        msg = f"an insert without a new tuple ({data[start + 5 : start + 6]!r})"
        raise ProtocolError(msg)
    return Insert(relation, data, start + 6)


_IN_XLOG = 1 + _XLOG_DATA.size  # where an XLogData frame's pgoutput message starts


def parse_copy_data(data: bytes) -> tuple[int, Message]:
    """A ``CopyData`` of the replication stream: (the wal end it reports, its message)."""
    tag = data[:1]
    if tag == b"w":
        _start, wal_end, _sent = _XLOG_DATA.unpack_from(data, 1)
        # read in place: the message is most of the frame, not copied out of it
        return wal_end, parse_pgoutput(data, _XLOG_DATA.size + 1)
    if tag == b"k":
        wal_end, _sent, reply = _KEEPALIVE.unpack_from(data, 1)
        return wal_end, Keepalive(wal_end, reply)
    msg = f"unknown replication message {tag!r}"
    raise ProtocolError(msg)


class EventDecoder:
    """Turns the outbox table's inserts into :class:`OutboxEvent`, by relation."""

    def __init__(
        self, table: str, *, decoders: Mapping[int, Callable[[bytes], Any]] | None = None
    ) -> None:
        """``decoders`` replace this module's, by type oid: the capture adapter passes
        its driver's compiled ones (the same binary send formats, parsed in C)."""
        self.table = table  # unqualified name; the relation's schema is not checked
        self._decoders = {**_DECODERS, **(decoders or {})}
        self._relations: dict[int, Relation] = {}
        # per outbox relation: what the walk of its tuples does with each column
        self._steps: dict[int, tuple[_Step, ...]] = {}
        self._columns: dict[int, int] = {}  # per outbox relation: its tuples' column count
        # per outbox relation: the fast path's decoding of each column (see frame_event)
        self._plans: dict[int, tuple[_Walk, ...]] = {}

    def add_relation(self, relation: Relation) -> None:
        self._relations[relation.oid] = relation
        if relation.name.rsplit(".", 1)[-1] != self.table:
            # re-described under another name (a renamed table): no longer the outbox
            self._steps.pop(relation.oid, None)
            self._plans.pop(relation.oid, None)
            return
        missing = [name for name in EVENT_COLUMNS if name not in relation.positions]
        if missing:
            msg = f"table {relation.name} has no column {', '.join(missing)}: not an outbox"
            raise ProtocolError(msg)
        steps: list[_Step] = [None] * len(relation.types)  # the relay's own columns: skipped
        for where, name in enumerate(EVENT_COLUMNS):
            position = relation.positions[name]
            type_oid = relation.types[position]
            if type_oid not in self._decoders:
                msg = f"column {relation.name}.{name} has type oid {type_oid}, not decoded here"
                raise ProtocolError(msg)
            steps[position] = (where, self._decoders[type_oid])
        # the relay's own columns after the last event column (its retries, its leases,
        # sent_at: five of eighteen here) are never walked
        last = max(relation.positions[name] for name in EVENT_COLUMNS)
        self._steps[relation.oid] = tuple(steps[: last + 1])
        self._columns[relation.oid] = len(relation.types)
        # The fast path's plan, for a table whose event columns come in the event's order
        # (the outbox as its migrations make it): the decoders by position, in order.
        positions = [relation.positions[name] for name in EVENT_COLUMNS]
        if positions == sorted(positions):
            self._plans[relation.oid] = tuple(
                None if step is None else self._native(relation.types[position], step[1])
                for position, step in enumerate(steps[: last + 1])
            )
        else:
            self._plans.pop(relation.oid, None)

    @staticmethod
    def _native(type_oid: int, decoder: Callable[[bytes], Any]) -> _Walk:
        """How the C walk decodes a column: itself for the types it knows (the same
        values as this module's decoders), else with the decoder given for its type."""
        code = _NATIVE.get(type_oid)
        return code if code is not None and decoder is _DECODERS[type_oid] else decoder

    def frame_event(self, frame: bytes) -> OutboxEvent | None:
        """The event of an XLogData frame that inserts into the outbox, read in place,
        when every one of its event columns is a binary value (nearly every frame of the
        stream: the relay's hot path, without the message dispatch, the general walk and
        its per-column checks, its columns walked in C by :mod:`playball_pgwalk`); None for
        any other frame, which :func:`parse_copy_data` and :meth:`event` then read (the
        same insert decodes to the same event)."""
        if frame[0] != 0x77 or frame[_IN_XLOG] != 0x49:  # 'w' XLogData, 'I' insert
            return None
        (relation,) = _U32.unpack_from(frame, _IN_XLOG + 1)
        plan = self._plans.get(relation)
        if plan is None or frame[_IN_XLOG + 5] != 0x4E:  # 'N': a new tuple
            return None
        if _U16.unpack_from(frame, _IN_XLOG + 6)[0] != self._columns[relation]:
            return None
        values = walk_binary(frame, _IN_XLOG + 8, plan)
        if values is None:
            return None
        values[_HEADERS] = headers_of(values[_HEADERS])
        # a field per value, by the plan (twelve decoders): _make would check the count
        return tuple.__new__(OutboxEvent, values)

    def event(self, insert: Insert) -> OutboxEvent | None:
        """The event an insert into the outbox carries; None for any other table's."""
        steps = self._steps.get(insert.relation)
        if steps is None:
            if insert.relation not in self._relations:
                msg = f"an insert into relation {insert.relation} before its description"
                raise ProtocolError(msg)
            return None
        # one pass over the tuple, in place in its frame: the event's columns decoded,
        # the relay's bookkeeping columns skipped without a copy
        decoded = _walk_tuple(
            insert.data, insert.offset, steps, len(EVENT_COLUMNS), self._columns[insert.relation]
        )
        if decoded[_PAYLOAD] is None:
            msg = f"outbox row {decoded[0]} was inserted without a payload"
            raise ProtocolError(msg)
        return OutboxEvent.from_columns(decoded)
