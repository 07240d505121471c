"""The dead-letter message format and the redrive selection, without Kafka."""

import datetime as dt

import pytest
from playball_events.consumer.dead_letter import (
    dead_letter_headers,
    parse_parked,
    parse_position,
    select,
)
from playball_events.consumer.ports import DeadLetter, RawMessage


def test_parked_message_keeps_the_original_and_says_why_and_where_from() -> None:
    original = RawMessage(
        "events", 4, 1234, b"user-1", b"\x00\x00\x00\x00\x07body", (("event_id", b"e1"),)
    )
    at = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
    letter = DeadLetter(original, "schema id 7 is unknown", "unknown_schema", parked_at=at)
    headers = tuple(
        (k, v if isinstance(v, bytes) else str(v).encode()) for k, v in dead_letter_headers(letter)
    )
    parked = parse_parked(RawMessage("events.dlq", 0, 9, original.key, original.value, headers))
    assert (parked.key, parked.value, parked.original_headers) == (
        original.key,
        original.value,
        original.headers,
    )
    assert (parked.reason, parked.kind) == ("schema id 7 is unknown", "unknown_schema")
    assert (parked.source_topic, parked.source_partition, parked.source_offset) == (
        "events",
        4,
        1234,
    )
    assert parked.parked_at == at
    assert (parked.partition, parked.offset) == (0, 9)


def test_positions_select_what_to_redrive() -> None:
    assert parse_position("12") == (0, 12)
    assert parse_position("3:12") == (3, 12)
    with pytest.raises(ValueError, match="OFFSET or PARTITION:OFFSET"):
        parse_position("x")
    messages = [
        parse_parked(RawMessage("d", p, o, None, b"", ())) for p, o in ((0, 1), (0, 2), (1, 1))
    ]
    assert [(m.partition, m.offset) for m in select(messages, [(0, 2), (1, 1)])] == [(0, 2), (1, 1)]
    assert select(messages, None) == messages
