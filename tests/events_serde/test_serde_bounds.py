"""The deserializer's caches are bounded, and with its topic it reads only the topic's ids."""

import json
from typing import Any

import pytest
from playball_events.bounded_cache import BoundedCache
from playball_events.contracts import UserRegistered, records
from playball_events.records_runtime import RESOLVER_CACHE_SIZE
from playball_events.serde import RecordDeserializer, RecordSerializer, header
from playball_events.serde_errors import ForeignSchemaError, UnhandledRecordTypeError
from support.events import registered

from events_serde.registries import CountingRegistry

TOPIC = "playball.auth.user-events.v1"


def version(n: int) -> dict[str, Any]:
    """UserRegistered with ``n`` extra optional fields: a distinct, compatible writer."""
    schema = UserRegistered.avro_schema()
    for i in range(n):
        schema["fields"].append({"name": f"extra{i}", "type": "string", "default": ""})
    return schema


def test_the_cache_keeps_the_most_recently_used_and_drops_the_oldest() -> None:
    cache: BoundedCache[int, str] = BoundedCache(2)
    cache.put(1, "a")
    cache.put(2, "b")
    assert cache.get(1) == "a"  # 1 is now the most recently used
    cache.put(3, "c")
    assert (cache.get(2), cache.get(1), cache.get(3), len(cache)) == (None, "a", "c", 2)
    assert cache.get(9, "absent") == "absent"


def test_decoders_are_kept_for_at_most_cache_size_schema_ids() -> None:
    registry = CountingRegistry()
    subject = RecordSerializer(registry, TOPIC).subject(UserRegistered)
    ids = [registry.register(subject, json.dumps(version(n))) for n in range(5)]
    deserializer: RecordDeserializer[UserRegistered] = RecordDeserializer(
        registry, [UserRegistered], topic=TOPIC, cache_size=3
    )
    for schema_id in ids:
        deserializer._decoder(schema_id)
    assert len(deserializer._decoders) == 3
    assert ids[0] not in deserializer._decoders and ids[-1] in deserializer._decoders
    registry.calls.clear()
    event = registered()  # ids[0] is the reader's own schema: its bytes as they are
    assert deserializer.deserialize(header(ids[0]) + event.to_avro_bytes()) == event
    assert registry.calls["schema_by_id"] == 1  # evicted, so fetched again


def test_the_resolver_cache_of_a_generated_class_is_bounded() -> None:
    codec = records._USER_REGISTERED_CODEC
    for n in range(1, RESOLVER_CACHE_SIZE + 5):
        codec.resolver(version(n))
    assert len(codec._decoders) == RESOLVER_CACHE_SIZE


def test_an_id_registered_under_another_topics_subject_is_foreign_and_asked_again() -> None:
    registry = CountingRegistry()
    foreign = registry.register("elsewhere-playball.auth.v1.UserRegistered", json.dumps(version(1)))
    deserializer: RecordDeserializer[UserRegistered] = RecordDeserializer(
        registry, [UserRegistered], topic=TOPIC
    )
    data = header(foreign) + registered().to_avro_bytes() + b"\x00"
    with pytest.raises(ForeignSchemaError, match="not registered under subject"):
        deserializer.deserialize(data)
    # registered for this topic afterwards (then redriven): read without a restart
    registry.register(f"{TOPIC}-playball.auth.v1.UserRegistered", json.dumps(version(1)))
    assert isinstance(deserializer.deserialize(data), UserRegistered)
    assert registry.calls["schema_by_id"] == 1  # the writer schema was kept


def test_a_record_type_of_the_topic_this_reader_skips_is_decided_once() -> None:
    registry = CountingRegistry()
    other = {"type": "record", "name": "UserLoggedIn", "namespace": "playball.auth.v1",
             "fields": [{"name": "user_id", "type": "string"}]}  # fmt: skip
    schema_id = registry.register(f"{TOPIC}-playball.auth.v1.UserLoggedIn", json.dumps(other))
    deserializer: RecordDeserializer[UserRegistered] = RecordDeserializer(
        registry, [UserRegistered], topic=TOPIC
    )
    for _ in range(3):
        with pytest.raises(UnhandledRecordTypeError):
            deserializer.deserialize(header(schema_id) + b"\x02a")
    assert (registry.calls["schema_by_id"], registry.calls["lookup"]) == (1, 1)
