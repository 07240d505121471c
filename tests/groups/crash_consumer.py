"""A groups consumer process that SIGKILLs itself right after its first database commit,
before the offsets are committed: the crash window the processed-events table covers.

Run as a program by test_consumer_crash.py, configured like ``playball groups consume``
through the ``PLAYBALL_*`` environment.
"""

import os
import signal
from typing import Any

from playball_events.settings import load_settings
from playball_groups.entrypoints.bootstrap import build_consumer
from playball_groups.settings import GroupsSettings


def die_after_commit(outcome: Any) -> None:
    if outcome.applied:
        os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    consumer = build_consumer(load_settings(GroupsSettings), on_applied=die_after_commit)
    consumer.run()


if __name__ == "__main__":
    main()
