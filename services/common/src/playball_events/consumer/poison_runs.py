"""The stop rule: a long run of poison means something is wrong, not the messages.

One bad message is the producer's fault and is parked; a hundred in a row are far more
likely a fault of this consumer (a registry URL that answers 404, a view whose migration
did not run, a decoder bug), and parking them would empty the topic into the
dead-letter topic. So, as Sentry's arroyo does with its ``DlqLimit``, the consumer
counts consecutive poison messages per partition and stops at the limit.

To stop without having parked any of the run, a run is not parked while it is open: its
messages are held, and the partition is committed only up to the run's first offset.
The run is parked when a good message follows it (or stops the consumer at the limit).
A run that began in an earlier batch is no longer in hand by then; the partition is
read again from the run's first offset, and its messages up to the good one are parked
as they come back (:attr:`RunPlan.seeks`, the partition's release offset). Only
positions and the first reason are remembered across batches, never the messages, so
memory stays bounded by the batch.

A restarted consumer reads the partition again from the committed offset, the run's
first, and stops at the same place.

A roll marker (a ``_playball/`` key, :mod:`playball_events.roll_markers`) is neither:
written on a timer, it says nothing about whether this consumer can read its topic, so
it neither extends a run nor ends one; outside a run it is committed like a good message.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from playball_events.consumer.ports import DeadLetter, Position, RawMessage
from playball_events.roll_markers import is_control_key

DEFAULT_MAX_CONSECUTIVE_POISON = 100

Partition = tuple[str, int]  # (topic, partition)
MessageKey = tuple[str, int, int]  # (topic, partition, offset)


def message_key(message: RawMessage) -> MessageKey:
    return (message.topic, message.partition, message.offset)


@dataclass(frozen=True, slots=True)
class PoisonRun:
    """Consecutive poison messages of one partition, none parked yet."""

    topic: str
    partition: int
    first_offset: int
    last_offset: int
    count: int
    first_kind: str
    first_reason: str

    def extended(self, offset: int) -> "PoisonRun":
        return replace(self, last_offset=offset, count=self.count + 1)

    def __str__(self) -> str:
        return (
            f"{self.count} consecutive poison messages in {self.topic}[{self.partition}], "
            f"offsets {self.first_offset} to {self.last_offset}; the first: "
            f"[{self.first_kind}] {self.first_reason}"
        )


class PoisonRunLimitError(Exception):
    """The limit of consecutive poison messages was reached; the consumer must stop."""

    def __init__(self, run: PoisonRun, limit: int) -> None:
        self.run = run
        self.limit = limit
        super().__init__(
            f"stopped at the limit of {limit} consecutive poison messages: {run}. "
            f"Nothing of the run was parked and {run.topic}[{run.partition}] is committed "
            f"up to offset {run.first_offset} (the run's first); fix the cause and start "
            "again"
        )


@dataclass(slots=True)
class RunPlan:
    """What to do with a batch's poison, and the state to keep once the batch is done."""

    park: list[DeadLetter] = field(default_factory=list)
    commits: list[Position] = field(default_factory=list)  # next offset, per partition
    seeks: list[Position] = field(default_factory=list)  # partitions to read again
    held: int = 0  # poison messages of this batch in open runs: not parked, not committed
    open: list[PoisonRun] = field(default_factory=list)  # runs this batch left open
    stopped: PoisonRun | None = None  # the run that reached the limit
    runs: dict[Partition, PoisonRun] = field(default_factory=dict)
    releases: dict[Partition, int] = field(default_factory=dict)


class PoisonRuns:
    """The open runs of poison, per partition, and what each batch does with its poison."""

    def __init__(self, limit: int = DEFAULT_MAX_CONSECUTIVE_POISON) -> None:
        if limit < 1:
            msg = f"the limit of consecutive poison messages must be at least 1, not {limit}"
            raise ValueError(msg)
        self.limit = limit
        self._runs: dict[Partition, PoisonRun] = {}
        # Per partition read again from a run's start: poison before this offset is a run
        # a good message is known to end, parked as it comes back.
        self._releases: dict[Partition, int] = {}

    def open_runs(self) -> list[PoisonRun]:
        return list(self._runs.values())

    def forget(self, partitions: Iterable[Partition]) -> None:
        """Partitions revoked: their next owner reads them from the committed offset."""
        for key in partitions:
            self._runs.pop(key, None)
            self._releases.pop(key, None)

    def plan(
        self, messages: Sequence[RawMessage], poison: Mapping[MessageKey, DeadLetter]
    ) -> RunPlan:
        """The batch's verdicts (``poison``: the letter of every poison message) applied to
        the open runs. Nothing changes until :meth:`accept`: a batch that fails is
        rewound and planned again from the same state."""
        plan = RunPlan(runs=dict(self._runs), releases=dict(self._releases))
        for key, batch in _by_partition(messages).items():
            self._plan_partition(key, batch, poison, plan)
        return plan

    def accept(self, plan: RunPlan) -> None:
        """The batch was parked and committed as planned."""
        self._runs = plan.runs
        self._releases = plan.releases

    def _plan_partition(
        self,
        key: Partition,
        batch: list[RawMessage],
        poison: Mapping[MessageKey, DeadLetter],
        plan: RunPlan,
    ) -> None:
        topic, partition = key
        run = plan.runs.pop(key, None)
        release = plan.releases.pop(key, None)
        in_hand: list[DeadLetter] = []  # the letters of ``run`` read in this batch
        end: int | None = None  # the next offset to commit
        for message in batch:
            offset = message.offset
            if run is not None and not in_hand and offset <= run.last_offset:
                # Read again although no rewind of ours asked for it: start the run over
                # from its first offset rather than trust a count that may skip some.
                plan.seeks.append(Position(topic, partition, run.first_offset))
                run = None
                break
            if release is not None and offset >= release:
                release = None
            if is_control_key(message.key):  # neutral: see the module's docstring
                end = offset + 1 if run is None else end
                continue
            letter = poison.get((topic, partition, offset))
            if letter is None:  # a good message: it ends the run before it
                if run is not None and len(in_hand) < run.count:
                    # The run began in an earlier batch, whose letters are gone: read the
                    # partition again from the run's start and park it as it comes back.
                    # What followed it here (already applied) comes back as duplicates.
                    plan.seeks.append(Position(topic, partition, run.first_offset))
                    release, run = offset, None
                    break
                plan.park.extend(in_hand)
                in_hand, run = [], None
                end = offset + 1
            elif release is not None:  # a run known to end, read again: park it now
                plan.park.append(letter)
                end = offset + 1
            else:
                run = (
                    PoisonRun(topic, partition, offset, offset, 1, letter.kind, letter.reason)
                    if run is None
                    else run.extended(offset)
                )
                in_hand.append(letter)
                if run.count >= self.limit:
                    plan.stopped = plan.stopped or run
                    break
        _keep(plan, key, run=run, in_hand=in_hand, release=release, end=end)


def _keep(
    plan: RunPlan,
    key: Partition,
    *,
    run: PoisonRun | None,
    in_hand: list[DeadLetter],
    release: int | None,
    end: int | None,
) -> None:
    """What a partition's planning leaves: its open run, its release, its commit."""
    if run is not None:
        plan.runs[key] = run
        plan.held += len(in_hand)
        if in_hand:
            plan.open.append(run)
    if release is not None:
        plan.releases[key] = release
    if end is not None:
        plan.commits.append(Position(*key, end))


def _by_partition(messages: Sequence[RawMessage]) -> dict[Partition, list[RawMessage]]:
    """The batch per partition, each in offset order (as Kafka delivers a partition)."""
    found: dict[Partition, list[RawMessage]] = {}
    for message in messages:
        found.setdefault((message.topic, message.partition), []).append(message)
    return found
