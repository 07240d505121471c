"""An outbox relay process that SIGKILLs itself once the broker acked its first batch,
before the rows are marked sent, or removed by the log-based relay (R1): the crash window
the consumer's dedup covers.

Run as a program by test_relay_crash_after_ack.py, configured like ``python -m
playball_events.outbox relay`` (``PLAYBALL_*``, the database's URL in
``PLAYBALL_OUTBOX_DATABASE_URL``: it may hold a password, so not on the command line).
"""

import os
import signal
from collections.abc import Sequence

from playball_events.outbox.commands import OUTBOX_URL_VARIABLE
from playball_events.outbox.ports import OutboxEvent
from playball_events.outbox.relay_settings import RelaySettings
from playball_events.outbox.runner import build_relay, choose_capture
from playball_events.outbox.wal_relay import WalOutboxRelay
from playball_events.settings import load_settings


def die_instead_of_marking(events: Sequence[OutboxEvent]) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    settings = load_settings(RelaySettings)
    url = os.environ[OUTBOX_URL_VARIABLE]
    capture = choose_capture(settings, url)
    relay = build_relay(settings, url, capture=capture)
    # both are only called with events whose delivery the broker acknowledged: mark_sent
    # by the polling relay, remove_streamed by the log-based one
    relay.store.mark_sent = die_instead_of_marking  # type: ignore[method-assign]
    if isinstance(relay, WalOutboxRelay):
        relay.store.remove_streamed = die_instead_of_marking  # type: ignore[method-assign]
    relay.run()


if __name__ == "__main__":
    main()
