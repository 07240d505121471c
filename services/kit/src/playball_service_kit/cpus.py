"""How many CPUs this process may run on: what the services size their threads by."""

import os


def available_cpus() -> int:
    """The CPUs in this process's affinity (a container's or taskset's share, not the
    machine's count); the machine's count where affinity is unknown (not Linux)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
