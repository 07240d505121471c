"""`schemas check --readers|--readers-file`: which readers, and their reports."""

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path

from playball_schemagate.contracts import Contracts
from playball_schemagate.gate import SubjectReport
from playball_schemagate.readers import (
    ReaderSet,
    check_against_readers,
    load_readers_file,
    readers_from_json,
    recent,
)


def _from_topic() -> ReaderSet:
    from playball_schemagate.readers_live import live_readers  # noqa: PLC0415

    topic, entries = live_readers()
    return ReaderSet(readers_from_json(entries, f"readers topic {topic}"), None)


def start_reading(readers_file: Path | None) -> Callable[[], ReaderSet]:
    """Start reading the readers; the returned call waits for them (and re-raises).

    From the topic the read runs on a thread of its own while the caller checks git
    history: most of it is waiting on the broker's TLS and SASL handshakes, which would
    otherwise add to the check's time instead of overlapping it.
    """
    if readers_file is not None:
        found = load_readers_file(readers_file)
        return lambda: found
    outcome: list[ReaderSet | BaseException] = []

    def read() -> None:
        try:
            outcome.append(_from_topic())
        except BaseException as exc:  # re-raised on the caller's thread by wait()
            outcome.append(exc)

    thread = threading.Thread(target=read, name="readers-topic", daemon=True)
    thread.start()

    def wait() -> ReaderSet:
        thread.join()
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        return result

    return wait


def reader_reports(
    contracts: Contracts, found: ReaderSet, max_age_days: float
) -> tuple[int, list[SubjectReport]]:
    """How many readers were recent enough to check, and their reports."""
    now = found.taken_at or dt.datetime.now(dt.UTC)
    chosen = recent(found.readers, now, dt.timedelta(days=max_age_days))
    return len(chosen), check_against_readers(contracts.entries(), contracts.candidates, chosen)
