"""The garbage collector's settings for the long-running processes: relay, consumer, APIs.

CPython's cyclic collector makes a young-generation pass every 700 net container
allocations and, every hundred of those, a full pass over every tracked object. The relay
and the consumer allocate tens of thousands of short-lived, acyclic objects per batch
(rows, messages, delivery reports), so with the defaults the collector ran constantly and
walked the whole heap often: a third of the relay's time went to it (scripts/bench_relay.py,
about 20k -> 34k events/s with this tuning). Two changes:

- everything allocated during start-up (imports, settings, the app) is frozen: moved to a
  generation no pass walks, since it lives as long as the process anyway;
- a young pass runs every 10,000 allocations instead of 700
  (:func:`playball_core.startup.tune_collector`, which every entry point already called
  before its imports): each pass costs about the same (it walks what is young and still
  alive), there are fourteen times fewer.

Cycles are still collected, only later; memory is not at stake at these sizes.

The outbox relay goes further (:data:`RELAY_YOUNG_GENERATION`): a backlog's batches are
5,000 events, up to four of them in flight, each event a few tracked objects that live
until its ack, so every young pass walked tens of thousands of live objects to free
nothing. Timed with ``gc.callbacks`` over a 50,000-event log-based drain: 57 young and 5
middle passes, 0.15 s of the 0.9 s drain with the collector holding the interpreter;
none at 100,000. Drains alternated in one process, 8 pairs: median 50.8k ev/s at
10,000, 56.9k at 100,000.
"""

import gc

from playball_core.startup import tune_collector

RELAY_YOUNG_GENERATION = 100_000


def tune_for_service(young_generation: int | None = None) -> None:
    """Call once, after start-up and before the work loop (or the server) starts;
    ``young_generation``: allocations between young passes, when more than the default's."""
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
    tune_collector()
    if young_generation is not None:
        young, middle, old = gc.get_threshold()
        gc.set_threshold(max(young, young_generation), middle, old)
