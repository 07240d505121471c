"""The shared rule for names people see (display names, group names), and its OpenAPI
pattern, which must never refuse a name the rule accepts."""

import functools
import re
import unicodedata
from typing import Annotated

import pytest
from hypothesis import given
from hypothesis import strategies as st
from playball_service_kit import names
from playball_service_kit.names import NAME_PATTERN, InvalidNameError, check_name
from pydantic import Field, TypeAdapter, ValidationError

MAX = 64
PATTERN = re.compile(NAME_PATTERN)
# pydantic checks patterns with Rust's regex crate: the escapes must read the same there
RUST_PATTERN = TypeAdapter(Annotated[str, Field(pattern=NAME_PATTERN)])


@functools.cache
def every_char() -> list[str]:
    """Every scalar value. Made when a test asks (half a second of CPU), not when each
    worker imports this module to collect it."""
    return [chr(point) for point in range(0x110000) if not 0xD800 <= point <= 0xDFFF]


@functools.cache
def format_chars() -> list[str]:
    return [char for char in every_char() if unicodedata.category(char) == "Cf"]


# what names are made of, weighted towards the characters the rule is about (and the
# format characters, drawn by hypothesis from their category)
TRICKY = [
    *"\x00\x1f\x7f\x85\x9f \t\n\u00a0\u1680\u2000\u2028\u2029\u3000\u3164\u2800",
    *"\u0301\u0302\u093c\u094d\ufe0f\U0001f3fd",  # marks, a virama, VS16, a skin tone
    *"aé\u0915\u0937\u06cc\u062e👨👩🏳\U0001f308",
]
NAMES = st.text(
    st.one_of(
        st.sampled_from(TRICKY),
        st.characters(categories=["Cf"]),
        st.characters(codec="utf-8"),
    ),
    min_size=1,
    max_size=12,
)


def accepted(value: str) -> str | None:
    try:
        return check_name(value, field="name", max_length=MAX)
    except InvalidNameError:
        return None


def refusal(value: str) -> str:
    with pytest.raises(InvalidNameError) as refused:
        check_name(value, field="name", max_length=MAX)
    return str(refused.value)


@pytest.mark.parametrize(
    "name",
    [
        "Alice",
        "A",
        "👨\u200d👩\u200d👧",  # a ZWJ emoji family
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian: a ZWNJ
        "क्\u200dष",  # Devanagari: a ZWJ after a virama asks for a half form
        "🏳\ufe0f\u200d🌈",  # the ZWJ follows a variation selector, which belongs to the flag
        "Jean\u00a0Paul",
        "x" * MAX,
    ],
    ids=ascii,
)
def test_names_that_show_what_they_say_are_accepted(name: str) -> None:
    assert check_name(name, field="name", max_length=MAX) == name
    assert PATTERN.fullmatch(name)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Alice \u202e(nimda)", "name must not contain the bidirectional control U+202E"),
        ("\u200b\u200b", "name must not contain the invisible character U+200B"),
        (" Alice", "name must not start or end with white space or a blank (U+0020)"),
        ("Alice ", "name must not start or end with white space or a blank (U+0020)"),
        ("Alice\u3000", "name must not start or end with white space or a blank (U+3000)"),
        ("\u3164Alice", "name must not start or end with white space or a blank (U+3164)"),
        ("\x85", "name must not contain the control character U+0085"),
        ("\u200d", "name may hold U+200D only between two visible characters"),
        ("Alice\u200d", "name may hold U+200D only between two visible characters"),
        ("a \u200cb", "name may hold U+200C only between two visible characters"),
        ("a\u200d\u200db", "name may hold U+200D only between two visible characters"),
        ("Al\u00adice", "name must not contain the format character U+00AD"),
        ("\U000e0041lice", "name must not contain the format character U+E0041"),
        ("Al\u2028ice", "name must not contain the line or paragraph separator U+2028"),
        ("\u0301\u0302", "name must contain at least one visible character"),
        ("\ud800", "name is not valid Unicode text: lone surrogate U+D800"),
        ("", "name must be 1-64 characters"),
        ("x" * (MAX + 1), "name must be 1-64 characters"),
    ],
    ids=ascii,
)
def test_names_that_lie_are_refused_saying_why(name: str, why: str) -> None:
    assert refusal(name) == why


def test_a_refusal_never_echoes_the_name() -> None:
    assert "nimda" not in refusal("Alice \u202e(nimda)")


def test_the_limit_counts_the_name_as_sent_and_once_normalised() -> None:
    assert check_name("e\u0301", field="name", max_length=2) == "é"  # NFC composes it
    with pytest.raises(InvalidNameError):  # but two characters were sent
        check_name("e\u0301", field="name", max_length=1)
    # U+FB2C decomposes to three characters, none of which compose again
    assert len(unicodedata.normalize("NFC", "\ufb2c")) == 3
    assert refusal("\ufb2c" * 30) == "name must be 1-64 characters"


def test_every_format_character_but_the_joiners_is_refused_anywhere() -> None:
    for char in format_chars():
        if char in "\u200c\u200d":
            assert accepted(f"a{char}b") == f"a{char}b"
        else:
            assert accepted(f"a{char}b") is None, f"U+{ord(char):04X}"


def test_the_walk_refuses_no_printable_character_so_printable_names_may_skip_it() -> None:
    """check_name walks a name character by character only when it is not printable:
    right only while the walk refuses no printable character, wherever it stands."""
    for char in every_char():
        if char.isprintable():
            for name, index in ((f"a{char}b", 1), (char, 0)):
                assert names._refusal(name, index) is None, f"U+{ord(char):04X}"


def test_the_pattern_refuses_every_bmp_format_character_but_the_joiners() -> None:
    for char in format_chars():
        if char in "\u200c\u200d":
            assert PATTERN.fullmatch(f"a{char}b")
            assert not PATTERN.fullmatch(f"a{char}") and not PATTERN.fullmatch(f"{char}b")
        elif char <= "\uffff":
            assert not PATTERN.fullmatch(f"a{char}b"), f"U+{ord(char):04X}"


def test_the_pattern_refuses_no_single_character_the_rule_accepts() -> None:
    for char in every_char():
        for name in (f"a{char}a", f"{char}a", f"a{char}"):
            if not PATTERN.fullmatch(name):
                assert accepted(name) is None, f"U+{ord(char):04X}"


@given(NAMES)
def test_the_pattern_refuses_no_name_the_rule_accepts_in_any_engine(name: str) -> None:
    if accepted(name) is None:
        return
    assert PATTERN.fullmatch(name)
    try:
        RUST_PATTERN.validate_python(name)
    except ValidationError:
        pytest.fail(f"pydantic's pattern refuses {name!a}")


@given(NAMES)
def test_an_accepted_name_is_accepted_again_as_stored(name: str) -> None:
    stored = accepted(name)
    if stored is not None:
        # the services' domains check the stored form again: it must not fail there
        assert accepted(stored) == stored
        assert stored == unicodedata.normalize("NFC", stored)
        assert not stored[0].isspace() and not stored[-1].isspace()
        assert all(unicodedata.category(char) != "Cc" for char in stored)
