"""The Kafka sink's failures surface as the port's error, which the heartbeat retries."""

import pytest
from playball_core.registry.memory import InMemoryRegistry
from playball_events.readers.ports import ReaderPublishError
from playball_events.readers.readers_kafka import KafkaReaderSink

from readers.test_heartbeat import T0, identity


def test_an_unregistered_reader_record_schema_is_a_publish_error_not_a_crash() -> None:
    closed: list[bool] = []
    # nothing listens on port 1: never reached, the registry refuses first
    sink = KafkaReaderSink(
        "127.0.0.1:1", "t.readers", InMemoryRegistry(), on_close=lambda: closed.append(True)
    )
    reader = identity()
    with pytest.raises(ReaderPublishError, match="not registered under subject"):
        sink.publish(reader.key, reader.record(last_seen=T0))
    sink.close()
    assert closed == [True]
