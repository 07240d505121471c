"""What may be redriven, and where to: only to the topic the dead-letter topic belongs to.

The target is never read from a letter. ``dlq.source.topic`` is a header that anyone who
can write the dead-letter topic can set, and the operator who redrives usually may write
every topic: following the header would let a forger publish anywhere in the operator's
name. So the target is the topic whose dead-letter topic is being read (``<topic>.dlq``
belongs to ``<topic>``, :func:`playball_core.manifest.dead_letter_topic`), and a letter
that names another source, or cannot be read, is refused.

The checks run over the whole selection before anything is produced, so a redrive is
all or nothing. A new reason to refuse a letter is one more function in :data:`CHECKS`.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from playball_core.manifest import dead_letter_topic

from playball_events.consumer.dead_letter import ParkedMessage
from playball_events.terminal_text import shown

# (letter, the topic it would be sent to) -> why it must not be, or None
Check = Callable[[ParkedMessage, str], str | None]

_TOPIC_SHOWN = 256  # a forged topic name may be megabytes long


def _well_formed(letter: ParkedMessage, _target: str) -> str | None:
    if letter.malformed:
        return f"the letter is malformed ({'; '.join(letter.problems)})"
    return None


def _parked_from_target(letter: ParkedMessage, target: str) -> str | None:
    if letter.source_topic != target:
        return (
            f"it names source topic '{shown(letter.source_topic, _TOPIC_SHOWN)}', but this "
            f"dead-letter topic belongs to '{target}' and redrive sends only there"
        )
    return None


def _not_a_stub(letter: ParkedMessage, _target: str) -> str | None:
    if letter.stub:
        return (
            "it is a stub: the message was too large to park, so there is no value to send "
            f"(the original is at {shown(letter.source_topic, _TOPIC_SHOWN)}"
            f"[{letter.source_partition}]@{letter.source_offset}, while retention keeps it)"
        )
    return None


CHECKS: tuple[Check, ...] = (_well_formed, _not_a_stub, _parked_from_target)


@dataclass(frozen=True, slots=True)
class Refusal:
    partition: int  # in the dead-letter topic
    offset: int
    why: str

    def __str__(self) -> str:
        return f"offset {self.offset} (partition {self.partition}): {self.why}"


class RedriveRefusedError(Exception):
    """Some selected letters must not be redriven; nothing was sent."""

    def __init__(self, dlq_topic: str, refusals: Sequence[Refusal]) -> None:
        self.refusals = tuple(refusals)
        listed = "\n  ".join(str(r) for r in self.refusals)
        super().__init__(
            f"refusing to redrive from {dlq_topic}, nothing was sent; "
            f"{len(self.refusals)} letter(s) refused:\n  {listed}"
        )


def owner_topic(dlq_topic: str) -> str:
    """The topic ``dlq_topic`` is the dead-letter topic of."""
    owner = dlq_topic.removesuffix(".dlq")
    if not owner or dead_letter_topic(owner) != dlq_topic:
        msg = f"{dlq_topic!r} is not a dead-letter topic (<topic>.dlq)"
        raise ValueError(msg)
    return owner


def redrive_target(letters: Sequence[ParkedMessage], dlq_topic: str) -> str:
    """The topic to send ``letters`` to; raises :class:`RedriveRefusedError` naming each
    letter that fails a check."""
    target = owner_topic(dlq_topic)
    refused = []
    for letter in letters:
        why = next((w for check in CHECKS if (w := check(letter, target)) is not None), None)
        if why is not None:
            refused.append(Refusal(letter.partition, letter.offset, why))
    if refused:
        raise RedriveRefusedError(dlq_topic, refused)
    return target
