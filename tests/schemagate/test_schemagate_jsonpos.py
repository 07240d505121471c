"""The position-keeping JSON reader: same values as ``json``, and where each one starts."""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from playball_core.avro.jsonpos import JsonSyntaxError, Position, parse_json

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


def _offset(text: str, position: Position) -> int:
    lines = text.split("\n")
    return sum(len(line) + 1 for line in lines[: position.line - 1]) + position.col - 1


def _walk(value: Any, pointer: tuple[str | int, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    found = [(pointer, value)]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_walk(item, (*pointer, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_walk(item, (*pointer, index)))
    return found


@given(json_values, st.sampled_from([None, 0, 2]), st.booleans())
def test_values_equal_the_standard_parser_and_positions_point_at_them(
    value: Any, indent: int | None, ascii_only: bool
) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    parsed = parse_json(text)
    assert parsed.value == json.loads(text)
    for pointer, item in _walk(parsed.value):
        start = text[_offset(text, parsed.positions[pointer]) :]
        assert json.JSONDecoder().raw_decode(start)[0] == item


def test_positions_are_one_based_line_and_column() -> None:
    text = '{\n  "a": [1,\n        {"b": "x"}]\n}'
    parsed = parse_json(text)
    assert parsed.positions[()] == Position(1, 1)
    assert parsed.positions[("a",)] == Position(2, 8)
    assert parsed.positions[("a", 1)] == Position(3, 9)
    assert parsed.positions[("a", 1, "b")] == Position(3, 15)
    assert str(parsed.positions[("a", 0)]) == "2:9"


def test_position_of_a_missing_element_falls_back_to_its_nearest_ancestor() -> None:
    parsed = parse_json('{"fields": []}')
    assert parsed.position_of(("fields", 3, "type")) == Position(1, 12)


def test_integers_and_floats_stay_distinct() -> None:
    parsed = parse_json("[1, 1.0, -0, 2e3, 10000000000000000000000]")
    assert parsed.value == [1, 1.0, 0, 2000.0, 10**22]
    assert [type(v) for v in parsed.value] == [int, float, int, float, int]


def test_surrogate_pairs_and_escapes_decode() -> None:
    assert parse_json(r'"\ud83d\ude00 \n\t\"\\\/"').value == '😀 \n\t"\\/'


@pytest.mark.parametrize(
    ("text", "reason", "where"),
    [
        ('{"a": 1,}', "expected a string key", Position(1, 9)),
        ('{"a": 1 "b": 2}', "expected ','", Position(1, 9)),
        ('{"a": 1, "a": 2}', "duplicate key 'a'", Position(1, 10)),
        ("[1, 2", "expected ',' or ']'", Position(1, 6)),
        ('{"a": tru}', "unexpected character 't'", Position(1, 7)),
        ('"abc', "unterminated string", Position(1, 1)),
        ("01", "unexpected data after the JSON value", Position(1, 2)),
        ("1.", "digits expected after '.'", Position(1, 1)),
        ('{\n  "a": NaN\n}', "unexpected character 'N'", Position(2, 8)),
        ("", "unexpected end of input", Position(1, 1)),
        ('"\\x"', "invalid escape", Position(1, 3)),
        ('"a\nb"', "control character in string", Position(1, 3)),
    ],
)
def test_syntax_errors_say_what_and_where(text: str, reason: str, where: Position) -> None:
    with pytest.raises(JsonSyntaxError) as caught:
        parse_json(text)
    assert reason in caught.value.reason
    assert caught.value.position == where
