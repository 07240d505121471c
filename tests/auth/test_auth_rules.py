"""The domain's field rules: any text is either accepted as storable or refused cleanly."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from playball_auth.domain import rules


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
