"""Where reader records go: the readers topic in production, a list in tests."""

from typing import Protocol

from playball_events.runtime_records import ReaderRecord


class ReaderPublishError(Exception):
    """The record was not acknowledged: the broker, the registry or the ACLs refused."""


class ReaderSink(Protocol):
    def publish(self, key: str, record: ReaderRecord) -> None:
        """Deliver ``record`` under ``key``, acknowledged; ReaderPublishError otherwise."""

    def close(self) -> None: ...
