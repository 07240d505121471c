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
"""

import gc

from playball_core.startup import tune_collector


def tune_for_service() -> None:
    """Call once, after start-up and before the work loop (or the server) starts."""
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
    tune_collector()
