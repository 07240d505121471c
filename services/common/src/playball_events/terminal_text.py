"""Text from untrusted sources, made safe to print on an operator's terminal.

A dead-letter reason, a header or a topic name can carry ESC (a terminal escape
sequence that recolours, moves the cursor or retitles the window), C1 controls (which
some terminals obey like ESC sequences), or bidi controls (which reorder what is shown,
"Trojan Source"). Every character Python does not call printable is shown as its escape
(``\\x1b``, ``\\u202e``): C0 and C1 controls, DEL, format characters such as the bidi
controls and zero-width marks, line and paragraph separators, spaces other than U+0020,
lone surrogates, unassigned and private-use code points.
"""


def escape_controls(text: str) -> str:
    """``text`` with every non-printable character replaced by its Python escape."""
    if text.isprintable():
        return text  # the common case, in one C-level pass
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def escape_lines(text: str) -> str:
    """:func:`escape_controls` line by line: a multi-line message keeps its line breaks."""
    return "\n".join(escape_controls(line) for line in text.split("\n"))


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def shown(text: str, limit: int = 1024) -> str:
    """``text`` escaped, cut at ``limit`` characters of the original (a forged letter's
    megabyte reason must not flood the terminal)."""
    if len(text) <= limit:
        return escape_controls(text)
    return f"{escape_controls(text[:limit])}... ({len(text) - limit} more characters)"
