"""Bounds on dead letters: a reason of at most 1 KiB of UTF-8, keys shown short, stub keys."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from playball_events.consumer.letter_limits import (
    REASON_LIMIT,
    bounded_reason,
    preview,
    stub_key,
)
from playball_events.consumer.ports import DeadLetter, RawMessage
from playball_events.message_limits import dead_letter_max_bytes, parse_max_message_bytes


@given(st.text(min_size=0, max_size=3000))
def test_a_reason_is_valid_utf8_within_the_limit_and_kept_whole_when_it_fits(text: str) -> None:
    reason = bounded_reason(text)
    data = reason.encode("utf-8")  # raises if a character was split or a surrogate kept
    assert len(data) <= REASON_LIMIT
    if len(text.encode("utf-8", "backslashreplace")) <= REASON_LIMIT:
        assert reason == text.encode("utf-8", "backslashreplace").decode()
    else:
        assert reason.endswith("bytes, cut)")


def test_a_cut_never_splits_a_multibyte_character() -> None:
    text = "é" * 2000  # 2 bytes each: a cut at an odd byte would split one
    reason = bounded_reason(text)
    assert set(reason.split("...")[0]) == {"é"}
    assert reason.endswith("(4000 bytes, cut)")


def test_a_lone_surrogate_becomes_an_escape_not_an_error() -> None:
    reason = bounded_reason("key b'\udcff'")
    assert reason == "key b'\\udcff'"


def test_a_dead_letter_bounds_its_reason_wherever_it_is_made() -> None:
    message = RawMessage("events", 0, 1, b"k", b"v")
    letter = DeadLetter(message, "x" * 300_000, "invalid")
    assert len(letter.reason.encode()) <= REASON_LIMIT


def test_bytes_are_previewed_with_their_length_never_whole() -> None:
    assert preview(None) == "None"
    assert preview(b"abc") == "b'abc'"
    shown = preview(b"k" * 300_000)
    assert shown == f"{b'k' * 64!r}... (300000 bytes)"


def test_a_stub_keeps_a_small_key_and_a_digest_of_a_large_one() -> None:
    assert stub_key(None) is None
    assert stub_key(b"k" * 1024) == b"k" * 1024
    large = b"k" * 1025
    assert stub_key(large) == b"sha256:" + hashlib.sha256(large).hexdigest().encode()


def test_the_dead_letter_topic_takes_64_kib_more_and_bad_settings_are_named() -> None:
    assert dead_letter_max_bytes() == 1_048_576 + 65_536
    assert parse_max_message_bytes(" 2097152 ") == 2_097_152
    with pytest.raises(ValueError, match="PLAYBALL_KAFKA_MAX_MESSAGE_BYTES: 'lots'"):
        parse_max_message_bytes("lots")
    with pytest.raises(ValueError, match="outside"):
        parse_max_message_bytes("100")
