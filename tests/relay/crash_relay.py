"""An outbox relay process that SIGKILLs itself once the broker acked its first batch,
before the rows are marked sent (R1): the crash window the consumer's dedup covers.

Run as a program by test_relay_crash_after_ack.py with the outbox database's URL as its
argument, configured like ``python -m playball_events.outbox relay`` (``PLAYBALL_*``).
"""

import os
import signal
import sys
from collections.abc import Sequence

from playball_events.outbox.ports import OutboxEvent
from playball_events.outbox.relay_settings import RelaySettings
from playball_events.outbox.runner import build_relay, choose_capture
from playball_events.settings import load_settings


def die_instead_of_marking(events: Sequence[OutboxEvent]) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    settings = load_settings(RelaySettings)
    capture = choose_capture(settings, sys.argv[1])
    relay = build_relay(settings, sys.argv[1], capture=capture)
    # mark_sent is only called with events whose delivery the broker acknowledged
    relay.store.mark_sent = die_instead_of_marking  # type: ignore[method-assign]
    relay.run()


if __name__ == "__main__":
    main()
