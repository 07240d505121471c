"""The rule for names people show each other: auth's display names, groups' group names.

A name must not lie about what it says. Bidirectional controls reorder what is shown
(``"Alice \\u202e(nimda)"`` reads "Alice (admin)"), zero-width and other format characters
hide text, and a name of nothing visible impersonates no one in particular. So a name is
normalised to NFC and refused when it holds a control, a bidi control, a format character
(ZWNJ and ZWJ excepted where they join two visible characters: Persian and Indic names and
emoji sequences need them), a line break, leading or trailing white space, or nothing
visible. Refusals name the offending character as ``U+XXXX`` and never echo the input.
"""

import unicodedata

# The bidi embeddings, overrides, isolates and marks: each reorders what a reader sees.
BIDI_CONTROLS = frozenset({0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)})
# Format characters that render as nothing wherever they stand.
ZERO_WIDTH = frozenset({0x200B, 0x2060, 0xFEFF})
ZWNJ = 0x200C
ZWJ = 0x200D
# Letters that render as nothing (the default-ignorable Hangul fillers) and the blank
# braille cell: not white space to Unicode, but they make a name look empty or padded.
BLANKS = frozenset({0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800})

_MARKS = frozenset({"Mn", "Mc", "Me"})
# Not visible on their own. Unassigned (Cn) and private-use (Co) characters count as
# visible: this Python's Unicode database predates the newest emoji, which it sees as Cn.
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cs", *_MARKS})

# For the OpenAPI only: what the rule refuses anywhere (controls, separators, every format
# character of the BMP but the joiners), and what it refuses at either end (white space,
# blanks, joiners). A regex cannot say "a joiner between two visible characters" or "one
# visible character" short of listing every combining mark, so the pattern refuses a
# subset of what check_name refuses (tests hold it to that); it keeps to BMP escapes,
# which ECMAScript, Python and Rust regexes all read alike. check_name decides, and its
# refusal names the offending character.
_REFUSED = (
    r"\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    r"\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
)
_EDGE = (
    r"\x20\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"  # white space
    r"\u115f\u1160\u3164\uffa0\u2800\u200c\u200d"  # blanks and joiners
)
NAME_PATTERN = rf"^[^{_EDGE}{_REFUSED}](?:[^{_REFUSED}]*[^{_EDGE}{_REFUSED}])?$"


class InvalidNameError(ValueError):
    """A name breaks the rule; the message says how, naming the character if one is at fault."""


def _code(char: str) -> str:
    return f"U+{ord(char):04X}"


def _is_visible(char: str) -> bool:
    """Whether ``char`` shows something by itself (a combining mark needs a base)."""
    return unicodedata.category(char) not in _INVISIBLE_CATEGORIES and ord(char) not in BLANKS


def _is_blank(char: str) -> bool:
    return char.isspace() or ord(char) in BLANKS


def _joins_two_visible(name: str, index: int) -> bool:
    """Whether the joiner at ``index`` sits between two visible characters; marks before it
    belong to their base (a virama in Indic scripts, an emoji's variation selector)."""
    before = index - 1
    while before >= 0 and unicodedata.category(name[before]) in _MARKS:
        before -= 1
    after = index + 1
    return (
        before >= 0 and after < len(name) and _is_visible(name[before]) and _is_visible(name[after])
    )


def _refused_kind(char: str) -> str | None:
    """What kind of refused character ``char`` is, or None if it may stand anywhere."""
    point = ord(char)
    category = unicodedata.category(char)
    if category == "Cc":
        return "the control character"
    if point in BIDI_CONTROLS:
        return "the bidirectional control"
    if point in ZERO_WIDTH:
        return "the invisible character"
    if category in {"Zl", "Zp"}:  # a name is one line
        return "the line or paragraph separator"
    if category == "Cf":
        return "the format character"
    return None


def _refusal(name: str, index: int) -> str | None:
    """Why the character at ``index`` is refused, or None when it may stand there."""
    char = name[index]
    if ord(char) in {ZWNJ, ZWJ}:
        if _joins_two_visible(name, index):
            return None
        return f"may hold {_code(char)} only between two visible characters"
    kind = _refused_kind(char)
    return None if kind is None else f"must not contain {kind} {_code(char)}"


def check_name(value: str, *, field: str, max_length: int) -> str:
    """The NFC form of ``value`` if it is an acceptable name of at most ``max_length``
    characters (as sent and once normalised); else :class:`InvalidNameError`, whose message
    starts with ``field``."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: JSON lets it through, no database does
        msg = f"{field} is not valid Unicode text: lone surrogate {_code(value[exc.start])}"
        raise InvalidNameError(msg) from None
    bad_length = f"{field} must be 1-{max_length} characters"
    if not 1 <= len(value) <= max_length:  # before normalising: input may be huge
        raise InvalidNameError(bad_length)
    name = unicodedata.normalize("NFC", value)
    if len(name) > max_length:  # NFC expands some characters (U+FB2C into three)
        raise InvalidNameError(bad_length)
    # Every character the walk can refuse is a control (Cc), a format character (Cf: the
    # bidi controls, the zero-width ones and the joiners among them) or a line or
    # paragraph separator (Zl, Zp), none of which str.isprintable() passes: a printable
    # name, nearly every one, skips the walk (it was a few percent of a profile update).
    if not name.isprintable():
        for index in range(len(name)):
            reason = _refusal(name, index)
            if reason is not None:
                msg = f"{field} {reason}"
                raise InvalidNameError(msg)
    for edge in (name[0], name[-1]):
        if _is_blank(edge):
            msg = f"{field} must not start or end with white space or a blank ({_code(edge)})"
            raise InvalidNameError(msg)
    if not any(_is_visible(char) for char in name):
        msg = f"{field} must contain at least one visible character"
        raise InvalidNameError(msg)
    return name
