"""The gauge `status` shows for the reader record, and where `status` reads it."""

from playball_events.consumer.metrics import ConsumerMetrics
from playball_orchestration.services import service_specs

GAUGE = "playball_consumer_reader_record_published"


def test_the_gauge_follows_the_last_publish_outcome() -> None:
    metrics = ConsumerMetrics("t")
    metrics.reader_published(True)
    assert metrics.value(GAUGE, topic="t") == 1
    metrics.reader_published(False)
    assert metrics.value(GAUGE, topic="t") == 0


def test_status_reads_the_gauge_of_the_consumer() -> None:
    [consumer] = [spec for spec in service_specs() if spec.name == "groups-consumer"]
    assert (GAUGE, "reader_record_published") in consumer.more_metrics
