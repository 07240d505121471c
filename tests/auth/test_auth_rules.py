"""The domain's field rules: any text is either accepted as storable or refused cleanly."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from playball_auth.domain import rules

# Persian for "I want": the ZWNJ keeps two letters from joining
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
EMOJI_FAMILY = "👨\u200d👩\u200d👧"  # three emoji joined by ZWJs


@given(st.text())
def test_any_text_is_accepted_as_storable_or_refused_with_invalid_field(text: str) -> None:
    for check in (
        rules.check_username,
        rules.normalize_email,
        rules.check_display_name,
        rules.check_password,
    ):
        try:
            result = check(text)
        except rules.InvalidFieldError:
            continue
        result.encode("utf-8")  # never a lone surrogate
        if check is not rules.check_password:  # hashed, never stored
            assert "\x00" not in result


@given(st.text(alphabet=st.characters(categories=["Cs", "Cc", "L"]), min_size=1))
def test_surrogates_and_controls_never_pass_as_display_names(text: str) -> None:
    if any(not ch.isprintable() or "\ud800" <= ch <= "\udfff" for ch in text):
        with pytest.raises(rules.InvalidFieldError):
            rules.check_display_name(text)


def test_examples() -> None:
    assert rules.check_username("Alice_1.b-c") == "Alice_1.b-c"
    assert rules.normalize_email("Alice@Example.ORG") == "alice@example.org"
    assert rules.check_display_name("Ålice 🎾") == "Ålice 🎾"
    assert rules.username_key("ALICE") == rules.username_key("alice")
    for bad in ("ab", "_abc", "a" * 33, "a b", "ålice", "abc\n"):
        with pytest.raises(rules.InvalidFieldError):
            rules.check_username(bad)


def test_an_email_that_lengthens_when_lower_cased_is_measured_after() -> None:
    # each İ lower-cases to two characters: 252 as sent, 492 once normalised
    email = "İ" * 240 + "@example.org"
    assert len(email) <= rules.EMAIL_MAX
    with pytest.raises(rules.InvalidFieldError, match="at most 254"):
        rules.normalize_email(email)
    fits = "İ" * 120 + "@example.org"  # 252 once lower-cased
    assert rules.normalize_email(fits) == fits.lower()


def test_lower_casing_never_shortens_so_the_schemas_raw_limit_refuses_nothing_valid() -> None:
    assert all(len(chr(point).lower()) >= 1 for point in range(0x110000))


@pytest.mark.parametrize("name", ["Alice", EMOJI_FAMILY, PERSIAN, "Ålice 🎾"], ids=ascii)
def test_display_names_that_show_what_they_say_are_accepted(name: str) -> None:
    assert rules.check_display_name(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Alice \u202e(nimda)", "bidirectional control U+202E"),
        ("\u200b\u200b", "invisible character U+200B"),
        (" Alice", "white space"),
        ("Alice ", "white space"),
        ("\x85", "control character U+0085"),
        ("\u200d", "U+200D only between two visible characters"),
    ],
    ids=ascii,
)
def test_display_names_that_lie_are_refused_naming_the_character(name: str, why: str) -> None:
    with pytest.raises(rules.InvalidFieldError, match=re.escape(why)) as refused:
        rules.check_display_name(name)
    assert str(refused.value).startswith("display_name ")


def test_display_names_are_stored_in_nfc() -> None:
    assert rules.check_display_name("Ali\u0301ce") == "Alíce"


def test_the_common_password_list_is_zxcvbns_and_refuses_whatever_the_length() -> None:
    assert len(rules.common_passwords()) >= 20_000
    assert rules.common_passwords() is rules.common_passwords()  # built once
    for common in (
        "password1",
        "qwerty123456",
        "QWERTY123456",
        "\uff51\uff57\uff45\uff52\uff54\uff59123456",
    ):
        with pytest.raises(rules.WeakPasswordError) as refused:
            rules.check_not_common(common)
        assert refused.value.code == "weak_password"
        assert common not in str(refused.value)
    assert rules.check_not_common("correct horse battery") == "correct horse battery"


@pytest.mark.parametrize(
    ("password", "error"),
    [
        ("a" * 11, rules.InvalidFieldError),
        ("a" * 257, rules.InvalidFieldError),
        ("password1", rules.InvalidFieldError),  # too short before it is too common
        ("qwerty123456", rules.WeakPasswordError),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 20 else None,
)
def test_new_passwords_are_12_to_256_characters_and_not_common(
    password: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        rules.check_password(password)
    assert rules.check_password("a" * 12) == "a" * 12
    assert rules.check_password("b" * 256) == "b" * 256
