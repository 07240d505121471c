"""Reading a topic from its start to where it ended when the read began.

The tools that read a topic whole (`dlq list`, `readers list`, the privacy audit) share
this loop: each partition is assigned at its low watermark and read up to the high
watermark it had when the read began, so a topic that keeps growing still ends.
"""

from collections.abc import Callable, Iterator
from typing import Any

from confluent_kafka import KafkaError, TopicPartition

from playball_events.kafka_errors_kafka import await_metadata


class TopicReadError(Exception):
    """The topic is missing or not allowed, a read timed out, or an error stopped it."""


def never(_error: KafkaError) -> bool:
    return False


def messages_to_end(
    consumer: Any,
    topic: str,
    timeout: float,
    *,
    metadata_timeout: float | None = None,
    tolerate: Callable[[KafkaError], bool] = never,
) -> Iterator[Any]:
    """Every message of ``topic`` up to each partition's end as the read began, in order
    within each partition; ``consumer`` gets the partitions assigned.

    A message carrying an error is skipped when it is a partition's end (with
    ``enable.partition.eof``) or ``tolerate`` accepts it; any other ends the read with
    :class:`TopicReadError`, as do a missing topic and ``timeout`` seconds without a
    message. The client's own ``KafkaException`` passes through.
    """
    metadata = await_metadata(consumer, metadata_timeout or timeout, topic=topic)
    found = metadata.topics.get(topic)
    if found is None or found.error is not None:
        problem = found.error.str() if found is not None and found.error else "not listed"
        msg = f"topic {topic!r} cannot be read: {problem}"
        raise TopicReadError(msg)
    ends: dict[int, int] = {}
    assignment = []
    for partition in found.partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout)
        if high > low:
            ends[partition] = high
            assignment.append(TopicPartition(topic, partition, low))
    if not assignment:
        return
    consumer.assign(assignment)
    while ends:
        message = consumer.poll(timeout)
        if message is None:
            msg = f"timed out reading {topic!r} (partitions {sorted(ends)} not read to their end)"
            raise TopicReadError(msg)
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF or tolerate(error):
                continue
            msg = f"{topic!r}: {error.str()}"
            raise TopicReadError(msg)
        yield message
        partition, offset = message.partition() or 0, message.offset() or 0
        if offset + 1 >= ends.get(partition, 0):
            ends.pop(partition, None)
