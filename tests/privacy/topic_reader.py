"""Reading a whole topic back in a test, as the admin: every partition to its end."""

from confluent_kafka import Consumer, TopicPartition
from playball_events.consumer.ports import RawMessage
from playball_events.consumer.source_kafka import raw_message
from support.kafka import client_config


def read_all(bootstrap: str, topic: str, timeout: float = 30.0) -> list[RawMessage]:
    """Every message of ``topic`` now, by partition and offset (no group, nothing committed)."""
    consumer = Consumer(client_config(bootstrap, **{"group.id": "test-reader"}))
    try:
        partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
        ends: dict[int, int] = {}
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout)
            if high > low:
                ends[partition] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        found: list[RawMessage] = []
        while ends:
            message = consumer.poll(timeout)
            assert message is not None, f"timed out reading {topic}"
            if message.error() is not None:
                continue
            read = raw_message(message)
            found.append(read)
            if read.offset + 1 >= ends.get(read.partition, 0):
                ends.pop(read.partition, None)
        return sorted(found, key=lambda m: (m.partition, m.offset))
    finally:
        consumer.close()
