"""Serializer and deserializer shared by threads: one registry call per class / id.

The outbox relay serializes from worker threads, so the first use of a class may happen
on several threads at once. The registry double hands the GIL around inside each call
(``os.sched_yield``), which makes concurrent cache misses likely: without the serde's
locks these tests see several lookups. With them, exactly one.
"""

import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from playball_core.registry import RegisteredSchema
from playball_events.contracts import UserDeleted, UserRegistered, records
from playball_events.serde import RecordDeserializer, RecordSerializer
from support.events import registered

from events_serde.registries import CountingRegistry

TOPIC = "playball.auth.user-events.v1"
THREADS = 16
T = TypeVar("T")


class YieldingRegistry(CountingRegistry):
    """Counts calls and lets other threads run in the middle of each (like network I/O)."""

    def __init__(self) -> None:
        super().__init__()
        self._count_lock = threading.Lock()

    @staticmethod
    def _let_others_run() -> None:
        for _ in range(200):
            os.sched_yield()

    def lookup(self, subject: str, schema: str) -> RegisteredSchema | None:
        self._let_others_run()
        with self._count_lock:
            return super().lookup(subject, schema)

    def schema_by_id(self, schema_id: int) -> str:
        self._let_others_run()
        with self._count_lock:
            return super().schema_by_id(schema_id)


def _on_threads(call: Callable[[], T]) -> list[T]:
    """``call`` on THREADS threads released together."""
    start = threading.Barrier(THREADS)

    def run() -> T:
        start.wait()
        return call()

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(run) for _ in range(THREADS)]
        return [future.result() for future in futures]


def _registered() -> YieldingRegistry:
    registry = YieldingRegistry()
    serializer = RecordSerializer(registry, TOPIC)
    for cls in (UserRegistered, UserDeleted):
        registry.register(serializer.subject(cls), json.dumps(cls.avro_schema()))
    registry.calls.clear()
    return registry


def test_concurrent_first_serializations_look_the_id_up_once() -> None:
    registry = _registered()
    serializer = RecordSerializer(registry, TOPIC)
    event = registered()

    results = _on_threads(lambda: serializer.serialize(event))

    assert set(results) == {results[0]}
    assert registry.calls == {"lookup": 1}


def test_concurrent_first_deserializations_fetch_the_schema_once() -> None:
    registry = _registered()
    event = registered()
    data = RecordSerializer(registry, TOPIC).serialize(event)
    deserializer: RecordDeserializer[UserRegistered | UserDeleted] = RecordDeserializer(
        registry, [UserRegistered, UserDeleted]
    )
    registry.calls.clear()

    results = _on_threads(lambda: deserializer.deserialize(data))

    assert results == [event] * THREADS
    assert registry.calls == {"schema_by_id": 1}


def test_concurrent_resolution_of_a_new_writer_schema_builds_one_resolver() -> None:
    codec = records._USER_REGISTERED_CODEC  # the class's parsed schema and resolver cache
    writer = UserRegistered.avro_schema()
    writer["fields"].append({"name": "locale", "type": "string", "default": "en"})

    resolvers = _on_threads(lambda: codec.resolver(writer))

    assert resolvers[0] is not None
    assert all(resolver is resolvers[0] for resolver in resolvers)
    event = registered()
    body = event.to_avro_bytes() + b"\x04fr"  # the writer's extra field: locale="fr"
    assert UserRegistered.from_avro_bytes(body, writer_schema=writer) == event
