"""What ``dlq list`` prints: one row per letter, every string from a letter escaped.

Each string a letter carries (reason, kind, topic, event type, parked time) goes through
:func:`~playball_events.terminal_text.shown`, in the JSON too, so piping ``--json``
through ``jq -r`` is as safe as the table. A malformed letter is a row like the others,
marked ``MALFORMED`` with its problems.
"""

import json
from collections.abc import Sequence
from typing import TypedDict

from playball_events.consumer.dead_letter import ParkedMessage
from playball_events.terminal_text import escape_controls, shown


class Row(TypedDict):
    position: str
    source: str
    event_type: str | None
    kind: str
    reason: str
    parked_at: str | None
    malformed: list[str]


def _number(value: int) -> str:
    return "?" if value < 0 else str(value)


def row(letter: ParkedMessage) -> Row:
    source = (
        f"{shown(letter.source_topic, 256)}[{_number(letter.source_partition)}]"
        f"@{_number(letter.source_offset)}"
    )
    event_type = letter.event_type
    return {
        "position": f"{letter.partition}:{letter.offset}",
        "source": source,
        "event_type": None if event_type is None else shown(event_type, 256),
        "kind": shown(letter.kind, 64),
        "reason": shown(letter.reason),
        "parked_at": letter.parked_at.isoformat() if letter.parked_at else None,
        "malformed": [escape_controls(p) for p in letter.problems],
    }


def as_json(dlq_topic: str, letters: Sequence[ParkedMessage]) -> str:
    document = {"topic": escape_controls(dlq_topic), "messages": [row(p) for p in letters]}
    return json.dumps(document, indent=2)


def as_lines(dlq_topic: str, letters: Sequence[ParkedMessage]) -> list[str]:
    rows = [row(p) for p in letters]
    malformed = sum(1 for r in rows if r["malformed"])
    also = f", {malformed} malformed" if malformed else ""
    lines = [f"{len(rows)} message(s) on {escape_controls(dlq_topic)}{also}"]
    for r in rows:
        line = (
            f"{r['position']:>8}  {r['source']}  {r['event_type'] or '-'}  "
            f"[{r['kind']}] {r['reason']}"
        )
        if r["malformed"]:
            line += f"  MALFORMED: {'; '.join(r['malformed'])}"
        lines.append(line)
    return lines
