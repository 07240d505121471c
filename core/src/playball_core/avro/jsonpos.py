"""A strict JSON reader that remembers where every value starts (``line:col``).

Findings point at the ``.avsc`` line a developer has to edit, and the standard ``json``
module forgets positions. Values come back as plain Python objects (``dict``, ``list``,
``str``, ``int``, ``float``, ``bool``, ``None``); positions come back in a separate map
keyed by the value's pointer, the tuple of keys and indexes that leads to it from the root.

Strict means RFC 8259: no comments, no trailing commas, no NaN, no duplicate keys (a
duplicate key in a schema is always a mistake, and which one wins differs between parsers).

Bounded: nesting deeper than :data:`MAX_JSON_DEPTH` is refused with a position, so a
hostile document cannot exhaust the interpreter's stack (this reader recurses per level).
"""

from bisect import bisect_right
from dataclasses import dataclass
from typing import TypeAlias

Pointer: TypeAlias = tuple[str | int, ...]
JsonValue: TypeAlias = "dict[str, JsonValue] | list[JsonValue] | str | int | float | bool | None"


@dataclass(frozen=True, slots=True, order=True)
class Position:
    line: int  # 1-based
    col: int  # 1-based, in characters

    def __str__(self) -> str:
        return f"{self.line}:{self.col}"


class JsonSyntaxError(ValueError):
    """The text is not valid JSON; carries the position of the offending character."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(f"{position}: {message}")
        self.reason = message
        self.position = position


class JsonTooDeepError(JsonSyntaxError):
    """Valid JSON, perhaps, but nested deeper than :data:`MAX_JSON_DEPTH`."""


@dataclass(frozen=True, slots=True)
class PositionedJson:
    value: JsonValue
    positions: dict[Pointer, Position]

    def position_of(self, pointer: Pointer) -> Position | None:
        """Position of ``pointer``, or of its nearest ancestor that exists in the text."""
        for end in range(len(pointer), -1, -1):
            found = self.positions.get(pointer[:end])
            if found is not None:
                return found
        return None


_WHITESPACE = " \t\n\r"
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LITERALS: dict[str, JsonValue] = {"true": True, "false": False, "null": None}
_DIGITS = "0123456789"
# Far deeper than any real schema (a record nesting level takes three JSON levels), and
# shallow enough that this reader and the tools' tree walks stay well inside Python's
# default recursion limit of 1000 frames.
MAX_JSON_DEPTH = 256


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.index = 0
        self.positions: dict[Pointer, Position] = {}
        # Start offset of every line, to turn an offset into line:col by bisection.
        self._line_starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]

    def position(self, offset: int | None = None) -> Position:
        offset = self.index if offset is None else offset
        line = bisect_right(self._line_starts, offset)
        return Position(line=line, col=offset - self._line_starts[line - 1] + 1)

    def fail(self, message: str, offset: int | None = None) -> JsonSyntaxError:
        return JsonSyntaxError(message, self.position(offset))

    def skip_whitespace(self) -> None:
        text, index = self.text, self.index
        while index < len(text) and text[index] in _WHITESPACE:
            index += 1
        self.index = index

    def peek(self) -> str:
        return self.text[self.index] if self.index < len(self.text) else ""

    def expect(self, char: str, what: str | None = None) -> None:
        if self.peek() != char:
            found = repr(self.peek()) if self.peek() else "end of input"
            raise self.fail(f"expected {what or repr(char)}, found {found}")
        self.index += 1

    def value(self, pointer: Pointer) -> JsonValue:
        self.skip_whitespace()
        self.positions[pointer] = self.position()
        char = self.peek()
        if char in ("{", "[") and len(pointer) >= MAX_JSON_DEPTH:
            raise JsonTooDeepError(
                f"nested deeper than {MAX_JSON_DEPTH} levels (the limit against hostile input)",
                self.position(),
            )
        if char == "{":
            return self.object(pointer)
        if char == "[":
            return self.array(pointer)
        if char == '"':
            return self.string()
        if char and (char == "-" or char in _DIGITS):
            return self.number()
        for word, literal in _LITERALS.items():
            if self.text.startswith(word, self.index):
                self.index += len(word)
                return literal
        if not char:
            raise self.fail("unexpected end of input, expected a value")
        raise self.fail(f"unexpected character {char!r}, expected a value")

    def object(self, pointer: Pointer) -> dict[str, JsonValue]:
        self.expect("{")
        result: dict[str, JsonValue] = {}
        self.skip_whitespace()
        if self.peek() == "}":
            self.index += 1
            return result
        while True:
            self.skip_whitespace()
            key_offset = self.index
            if self.peek() != '"':
                raise self.fail("expected a string key")
            key = self.string()
            if key in result:
                raise self.fail(f"duplicate key {key!r}", key_offset)
            self.skip_whitespace()
            self.expect(":")
            result[key] = self.value((*pointer, key))
            self.skip_whitespace()
            if self.peek() == ",":
                self.index += 1
                continue
            self.expect("}", "',' or '}'")
            return result

    def array(self, pointer: Pointer) -> list[JsonValue]:
        self.expect("[")
        result: list[JsonValue] = []
        self.skip_whitespace()
        if self.peek() == "]":
            self.index += 1
            return result
        while True:
            result.append(self.value((*pointer, len(result))))
            self.skip_whitespace()
            if self.peek() == ",":
                self.index += 1
                continue
            self.expect("]", "',' or ']'")
            return result

    def string(self) -> str:
        start = self.index
        self.expect('"')
        parts: list[str] = []
        text = self.text
        while True:
            if self.index >= len(text):
                raise self.fail("unterminated string", start)
            char = text[self.index]
            if char == '"':
                self.index += 1
                return "".join(parts)
            if char == "\\":
                parts.append(self.escape())
                continue
            if char < " ":
                raise self.fail("control character in string")
            parts.append(char)
            self.index += 1

    def escape(self) -> str:
        self.index += 1  # the backslash
        char = self.peek()
        if char in _ESCAPES:
            self.index += 1
            return _ESCAPES[char]
        if char != "u":
            raise self.fail(f"invalid escape \\{char}")
        code = self.hex4()
        if 0xD800 <= code < 0xDC00 and self.text.startswith("\\u", self.index):
            saved = self.index
            self.index += 1
            low = self.hex4()
            if 0xDC00 <= low < 0xE000:
                return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))
            self.index = saved
        return chr(code)

    def hex4(self) -> int:
        self.index += 1  # the "u"
        digits = self.text[self.index : self.index + 4]
        if len(digits) != 4 or any(d not in "0123456789abcdefABCDEF" for d in digits):
            raise self.fail("invalid \\u escape")
        self.index += 4
        return int(digits, 16)

    def number(self) -> int | float:  # noqa: PLR0912 - one branch per part of the grammar
        text, start = self.text, self.index
        index = start
        if text[index] == "-":
            index += 1
        if index < len(text) and text[index] == "0":
            index += 1
        elif index < len(text) and text[index] in _DIGITS:
            while index < len(text) and text[index] in _DIGITS:
                index += 1
        else:
            raise self.fail("invalid number", start)
        is_float = False
        if index < len(text) and text[index] == ".":
            is_float = True
            index += 1
            if index >= len(text) or text[index] not in _DIGITS:
                raise self.fail("invalid number: digits expected after '.'", start)
            while index < len(text) and text[index] in _DIGITS:
                index += 1
        if index < len(text) and text[index] in "eE":
            is_float = True
            index += 1
            if index < len(text) and text[index] in "+-":
                index += 1
            if index >= len(text) or text[index] not in _DIGITS:
                raise self.fail("invalid number: digits expected in exponent", start)
            while index < len(text) and text[index] in _DIGITS:
                index += 1
        self.index = index
        literal = text[start:index]
        try:
            return float(literal) if is_float else int(literal)
        except ValueError as exc:  # an integer beyond Python's digit limit for str -> int
            raise self.fail(f"number too long ({index - start} characters)", start) from exc


def parse_json(text: str) -> PositionedJson:
    """Parse ``text`` strictly; raise :class:`JsonSyntaxError` with the failing position."""
    scanner = _Scanner(text)
    value = scanner.value(())
    scanner.skip_whitespace()
    if scanner.index != len(text):
        raise scanner.fail("unexpected data after the JSON value")
    return PositionedJson(value=value, positions=scanner.positions)
