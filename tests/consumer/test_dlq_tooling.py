"""The DLQ tools against forged letters, without Kafka: listing never crashes and shows
malformed letters as such, redrive goes only where the DLQ belongs, output is escaped."""

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from playball_events.consumer import dead_letter as dl
from playball_events.consumer.dead_letter import ParkedMessage, dead_letter_headers, parse_parked
from playball_events.consumer.dlq_kafka import letter_of
from playball_events.consumer.dlq_report import as_json, as_lines
from playball_events.consumer.ports import DeadLetter, RawMessage
from playball_events.consumer.redrive_checks import (
    RedriveRefusedError,
    owner_topic,
    redrive_target,
)
from playball_events.terminal_text import escape_controls, escape_lines, shown

AT = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
Headers = list[tuple[str, bytes | None]]


def good_headers(source: str = "events") -> Headers:
    original = RawMessage(source, 2, 41, b"k", b"v", (("event_type", b"UserRegistered"),))
    letter = DeadLetter(original, "schema id 7 is unknown", "unknown_schema", parked_at=AT)
    return [(k, v if isinstance(v, bytes) else None) for k, v in dead_letter_headers(letter)]


def letter(headers: Headers, offset: int = 5) -> ParkedMessage:
    # RawMessage types header values as bytes; a forged letter's may be None (no value)
    return parse_parked(RawMessage("events.dlq", 0, offset, b"k", b"v", tuple(headers)))  # type: ignore[arg-type]


def replaced(name: str, value: bytes | None) -> Headers:
    return [(k, value if k == name else v) for k, v in good_headers()]


def test_a_letter_the_consumer_wrote_is_well_formed() -> None:
    parked = letter(good_headers())
    assert not parked.malformed
    assert (parked.source_topic, parked.source_partition, parked.source_offset) == ("events", 2, 41)
    assert parked.parked_at == AT


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ([h for h in good_headers() if h[0] != dl.SOURCE_TOPIC], "dlq.source.topic is missing"),
        ([*good_headers(), (dl.SOURCE_TOPIC, b"other")], "dlq.source.topic appears 2 times"),
        (replaced(dl.REASON, None), "dlq.reason has no value"),
        (replaced(dl.REASON, b"bad \xff\xfe"), "dlq.reason is not UTF-8"),
        (replaced(dl.KIND, b""), "dlq.kind is empty"),
        (replaced(dl.SOURCE_PARTITION, b"two"), "dlq.source.partition is not a non-negative"),
        (replaced(dl.SOURCE_PARTITION, b"-1"), "dlq.source.partition is not a non-negative"),
        (replaced(dl.SOURCE_OFFSET, b"+4"), "dlq.source.offset is not a non-negative"),
        (replaced(dl.SOURCE_OFFSET, b" 4"), "dlq.source.offset is not a non-negative"),
        (replaced(dl.SOURCE_OFFSET, "\u0664".encode()), "dlq.source.offset is not a non-neg"),
        (replaced(dl.SOURCE_OFFSET, b"9" * 5000), "dlq.source.offset is not a non-negative"),
        (replaced(dl.PARKED_AT, b"yesterday"), "dlq.parked_at is not an ISO 8601 time"),
        (replaced(dl.PARKED_AT, b"2026-11-29T12:00:00"), "dlq.parked_at has no UTC offset"),
        (replaced(dl.PARKED_AT, b"\xff"), "dlq.parked_at is not an ISO 8601 time"),
        ([], "dlq.reason is missing"),
    ],
)
def test_a_forged_letter_is_malformed_naming_what_is_wrong(headers: Headers, problem: str) -> None:
    parked = letter(headers)
    assert parked.malformed
    assert any(p.startswith(problem) for p in parked.problems), parked.problems


def test_an_original_header_without_a_value_does_not_break_the_event_type() -> None:
    ours = [h for h in good_headers() if h[0] != "event_type"]
    parked = letter([("event_type", None), *ours])
    assert parked.event_type is None


class _UnreadableHeaders:
    """A consumed message whose header names the client cannot decode as UTF-8."""

    def topic(self) -> str:
        return "events.dlq"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return 9

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return b"v"

    def headers(self) -> list[tuple[str, bytes]]:
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    def timestamp(self) -> tuple[int, int]:
        return (0, 0)


def test_a_letter_whose_headers_cannot_be_read_is_malformed() -> None:
    parked = letter_of(_UnreadableHeaders())
    assert (parked.offset, parked.value) == (9, b"v")
    assert parked.problems == ("its headers cannot be read (UnicodeDecodeError)",)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("\x1b[2J\x1b]0;pwned\x07", "\\x1b[2J\\x1b]0;pwned\\x07"),  # ESC sequences, BEL
        ("a\x00b\r\nc\td", "a\\x00b\\x0d\\x0ac\\x09d"),  # C0
        ("\x7f\x85\x9b31m", "\\x7f\\x85\\x9b31m"),  # DEL, C1 (NEL, CSI)
        (
            "\u202eevil\u202c \u2066x\u2069 \u200f\u061c",
            "\\u202eevil\\u202c \\u2066x\\u2069 \\u200f\\u061c",
        ),
        ("zero\u200bwidth\u2028line", "zero\\u200bwidth\\u2028line"),
        ("\U000e0001tag", "\\U000e0001tag"),  # a format character beyond the BMP
        ("Zoë 日本 ok", "Zoë 日本 ok"),  # printable text is left alone
    ],
)
def test_control_characters_are_escaped(text: str, escaped: str) -> None:
    assert escape_controls(text) == escaped
    assert escape_controls(escaped) == escaped  # idempotent: escaping twice changes nothing


def test_long_text_is_cut_and_multi_line_messages_keep_their_breaks() -> None:
    assert shown("x" * 5000, 100) == "x" * 100 + "... (4900 more characters)"
    assert escape_lines("refused:\n  a\x1bb") == "refused:\n  a\\x1bb"


HOSTILE = "\x1b[31mred\x1b[0m \u202etxt.exe \x9b2J\x00"


def _printable(output: str) -> bool:
    return all(line.isprintable() for line in output.split("\n"))


def test_listing_escapes_every_field_and_marks_the_malformed() -> None:
    hostile = [(k, HOSTILE.encode() if k in (dl.REASON, dl.KIND) else v) for k, v in good_headers()]
    letters = [
        letter(good_headers(), offset=1),
        letter([*hostile, ("event_type", HOSTILE.encode())], offset=2),
        letter(replaced(dl.SOURCE_TOPIC, HOSTILE.encode() + b"\xff"), offset=3),
        letter(replaced(dl.SOURCE_PARTITION, b"x"), offset=4),
    ]
    lines = as_lines("events.dlq", letters)
    assert lines[0] == "4 message(s) on events.dlq, 2 malformed"
    assert _printable("\n".join(lines))
    assert "\\x1b[31mred" in lines[2] and "\\u202e" in lines[2]
    assert "MALFORMED" not in lines[1] + lines[2]
    assert "MALFORMED: dlq.source.topic is not UTF-8" in lines[3]
    assert lines[4].strip().startswith("0:4  events[?]@41") and "MALFORMED" in lines[4]

    text = as_json("events.dlq", letters)
    assert _printable(text)
    rows = json.loads(text)["messages"]
    # escaped before encoding, so `jq -r` prints escapes, not the characters
    assert _printable(json.dumps(rows, ensure_ascii=False))
    assert [bool(r["malformed"]) for r in rows] == [False, False, True, True]
    assert rows[1]["reason"] == escape_controls(HOSTILE)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    dl.REASON,
                    dl.KIND,
                    dl.SOURCE_TOPIC,
                    dl.SOURCE_PARTITION,
                    dl.SOURCE_OFFSET,
                    dl.PARKED_AT,
                    "event_type",
                    "dlq.other",
                ]
            ),
            st.none() | st.binary(max_size=40) | st.text(max_size=20).map(str.encode),
        ),
        max_size=10,
    )
)
def test_no_forged_headers_crash_listing_or_reach_the_terminal_raw(headers: Headers) -> None:
    parked = letter(headers)
    assert _printable("\n".join(as_lines("events.dlq", [parked])))
    assert _printable(as_json("events.dlq", [parked]))


def test_redrive_goes_only_to_the_topic_the_dlq_belongs_to() -> None:
    assert owner_topic("playball.auth.user-events.v1.dlq") == "playball.auth.user-events.v1"
    with pytest.raises(ValueError, match="not a dead-letter topic"):
        owner_topic("events")
    with pytest.raises(ValueError, match="not a dead-letter topic"):
        owner_topic(".dlq")
    assert redrive_target([letter(good_headers())], "events.dlq") == "events"


def test_redrive_refuses_a_letter_naming_another_topic_or_malformed_by_its_offset() -> None:
    elsewhere = letter(good_headers(source="payments\x1b[2J"), offset=7)
    broken = letter(replaced(dl.SOURCE_OFFSET, b"x"), offset=8)
    fine = letter(good_headers(), offset=9)
    with pytest.raises(RedriveRefusedError) as refused:
        redrive_target([fine, elsewhere, broken], "events.dlq")
    assert [(r.partition, r.offset) for r in refused.value.refusals] == [(0, 7), (0, 8)]
    message = str(refused.value)
    assert "nothing was sent" in message
    assert "offset 7 (partition 0): it names source topic 'payments\\x1b[2J'" in message
    assert "belongs to 'events'" in message
    assert "offset 8 (partition 0): the letter is malformed (dlq.source.offset" in message
    assert _printable(message)
