"""Bounds on what a dead letter says about its message: the reason, and how a key is shown.

A reason ends up in a Kafka header of every parked copy and on an operator's terminal,
and it is often built from the message itself (a key, a header, a decoder's complaint),
which a producer controls. So a reason is cut to :data:`REASON_LIMIT` bytes of UTF-8,
and bytes are described by a short preview and their length, never by ``repr`` of the
whole (a 300 KB key made a 1.2 MB reason, larger than the dead-letter topic took).
"""

import hashlib

REASON_LIMIT = 1024  # bytes of UTF-8 in a dead letter's reason
KEY_LIMIT = 1024  # a stub keeps the original key up to this many bytes, else its digest
PREVIEW_BYTES = 64  # how much of a key or header a reason quotes


def bounded_reason(text: str, limit: int = REASON_LIMIT) -> str:
    """``text`` as at most ``limit`` bytes of valid UTF-8, saying how much was cut.

    Lone surrogates (from bytes decoded with ``surrogateescape``) become ``\\udcxx``
    escapes, so the result always encodes; the cut never splits a character.
    """
    data = text.encode("utf-8", "backslashreplace")
    if len(data) <= limit:
        return data.decode("utf-8")
    suffix = f"... ({len(data)} bytes, cut)"
    budget = max(0, limit - len(suffix.encode()))
    # "ignore" drops only the partial character the cut may leave at the end: the bytes
    # were encoded from a str just above, so nothing before the cut is invalid
    return data[:budget].decode("utf-8", "ignore") + suffix


def preview(data: bytes | None, limit: int = PREVIEW_BYTES) -> str:
    """Bytes for a reason: ``repr`` of the first ``limit`` and the total length."""
    if data is None:
        return "None"
    if len(data) <= limit:
        return repr(data)
    return f"{data[:limit]!r}... ({len(data)} bytes)"


def stub_key(key: bytes | None, limit: int = KEY_LIMIT) -> bytes | None:
    """The key a stub is parked under: the original when small, else ``sha256:<hex>``.

    The digest still lets an operator match the stub to the original message's key.
    """
    if key is None or len(key) <= limit:
        return key
    return b"sha256:" + hashlib.sha256(key).hexdigest().encode()
