"""The relay's producer replaces its client after batches whose every delivery timed out
(see playball_events.outbox.producer_kafka): no broker here, only a port that refuses
connections, so every message times out."""

import logging
import socket
from collections.abc import Iterator

import pytest
from playball_events.outbox.ports import DeliveryOutcome, OutgoingMessage
from playball_events.outbox.producer_kafka import STALE_AFTER, KafkaEventPublisher

RESET = "starting a new producer session"


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port bound and never listened on: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_producer_whose_every_delivery_times_out_is_replaced(
    refusing_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    publisher = KafkaEventPublisher(f"127.0.0.1:{refusing_port}", delivery_timeout_ms=200)
    message = OutgoingMessage(topic="t", key=b"k", value=b"v", headers=[])
    caplog.set_level(logging.WARNING, logger="playball_events.outbox.producer_kafka")
    try:
        for batch in range(STALE_AFTER + 1):
            deliveries = publisher.send([message, message]).wait()
            assert deliveries.count == 2
            assert sorted(deliveries.failed) == [0, 1]
            assert {d.outcome for d in deliveries.failed.values()} == {
                DeliveryOutcome.POSSIBLY_PERSISTED
            }
            resets = [r for r in caplog.records if RESET in r.getMessage()]
            # the batches before the limit keep the client; the one after starts anew
            assert len(resets) == (1 if batch == STALE_AFTER else 0), batch
        assert f"every delivery of the last {STALE_AFTER} batches timed out" in caplog.text
    finally:
        publisher.close()
