"""Kafka clients built from the security settings, against the session's SASL_SSL-only
stack (SCRAM-SHA-512, TLS from the stack's CA), as its admin: every kind of client gets
through with the right settings; a wrong password is fatal at once, named by its setting
and never shown; a client that does not trust the CA, or speaks PLAINTEXT, gets nowhere."""

import contextlib
import io
import logging
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playball_core.credentials import raise_on_refusal
from playball_events.cli_topics import ensure_topics
from playball_events.consumer.dead_letters_kafka import KafkaDeadLetters
from playball_events.consumer.dlq_kafka import read_parked
from playball_events.consumer.ports import DeadLetter, RawMessage
from playball_events.consumer.source_kafka import KafkaSource, consumer_config
from playball_events.kafka_security import KafkaCredentialsRefusedError
from playball_events.outbox.ports import OutgoingMessage
from playball_events.outbox.producer_kafka import KafkaEventPublisher
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.topics_admin_kafka import BrokerUnreachableError, TopicsAdmin
from playball_stack.settings import StackSettings
from support.secured_kafka import SecuredKafka, session_secured_kafka

FATAL_WITHIN = 10.0  # seconds: how soon a refused credential must end a command or service


@pytest.fixture(scope="module")
def broker(stack: StackSettings) -> SecuredKafka:
    return session_secured_kafka(stack)


@pytest.fixture(autouse=True)
def refusals_raise() -> None:
    raise_on_refusal()  # in-process: a refusal is an exception to assert on, not an exit


def poll_one(source: KafkaSource, timeout: float = 30.0) -> RawMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if batch := source.poll_batch(10, 0.5):
            return batch[0]
    pytest.fail(f"nothing consumed within {timeout} s")


def test_every_client_built_from_the_settings_round_trips_over_sasl_ssl(
    broker: SecuredKafka, unique_name: str, kafka_bootstrap: str
) -> None:
    assert broker.bootstrap == kafka_bootstrap  # so unique_name's cleanup removes the topics
    security = broker.security()
    topic = unique_name
    report = TopicsAdmin(broker.bootstrap, security=security).ensure([topic])
    assert sorted(report.created) == [topic, f"{topic}.dlq"]

    publisher = KafkaEventPublisher(broker.bootstrap, security=security)
    publisher.check_credentials()
    message = OutgoingMessage(topic, b"user-1", b"value-1", [("event_id", b"e-1")])
    deliveries = publisher.send([message]).wait()
    publisher.close()
    assert deliveries.count == 1
    assert not deliveries.failed, deliveries.failed
    assert len(deliveries.latencies) == 1

    source = KafkaSource(
        consumer_config(broker.bootstrap, f"{topic}-g"), [topic], security=security
    )
    try:
        received = poll_one(source)
    finally:
        source.close()
    assert (received.key, received.value) == (b"user-1", b"value-1")

    # the consumer's dead-letter producer, and the reader `groups dlq list` uses
    KafkaDeadLetters(broker.bootstrap, security=security).park(
        [DeadLetter(received, "parked by the security test", "undecodable")]
    )
    [parked] = read_parked(broker.bootstrap, f"{topic}.dlq", security=security)
    assert (parked.key, parked.value, parked.source_topic) == (b"user-1", b"value-1", topic)


def test_a_wrong_password_ends_the_relay_with_exit_3_naming_the_setting_not_its_value(
    broker: SecuredKafka, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    open_outbox_store(url).create_table()
    wrong = f"wrong-{secrets.token_urlsafe(12)}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLAYBALL_")},
        **broker.environment(PLAYBALL_KAFKA_SASL_PASSWORD=wrong),
        "PLAYBALL_SCHEMA_REGISTRY_URL": "http://127.0.0.1:1",  # never reached
        "PLAYBALL_RELAY_METRICS_PORT": "0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "playball_events.outbox", "relay", "--database-url", url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    ended = time.time()
    assert result.returncode == 3, result.stderr[-2000:]
    # the bound is on the refusal, not on the interpreter's start (seconds of imports on a
    # loaded machine): timed from the broker's first refusal, as librdkafka stamped it
    refusals = re.findall(r"^%\d\|(\d+\.\d+)\|FAIL\|.*SASL authentication", result.stderr, re.M)
    assert refusals, result.stderr[-2000:]
    assert ended - float(refusals[0]) < FATAL_WITHIN
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1
    assert "refused the configured credentials" in error_lines[0]
    assert "PLAYBALL_KAFKA_SASL_PASSWORD" in error_lines[0]
    for secret in (wrong, broker.password):
        assert secret not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrong_password_stops_the_consumer_and_topics_ensure_at_once(
    broker: SecuredKafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = f"wrong-{secrets.token_urlsafe(12)}"
    security = broker.security(kafka_sasl_password=wrong)
    source = KafkaSource(consumer_config(broker.bootstrap, "never-joins"), ["t"], security=security)
    started = time.monotonic()
    try:
        with pytest.raises(KafkaCredentialsRefusedError) as consumer_refused:
            while time.monotonic() - started < 30:  # librdkafka would retry for ever
                source.poll_batch(10, 0.5)
        assert time.monotonic() - started < FATAL_WITHIN
    finally:
        with contextlib.suppress(KafkaCredentialsRefusedError):  # its commit on close
            source.close()
    assert "PLAYBALL_KAFKA_SASL_PASSWORD" in str(consumer_refused.value)
    assert wrong not in str(consumer_refused.value)

    for name, value in broker.environment(PLAYBALL_KAFKA_SASL_PASSWORD=wrong).items():
        monkeypatch.setenv(name, value)
    started = time.monotonic()
    with pytest.raises(KafkaCredentialsRefusedError):  # `playball` maps it to exit 3
        ensure_topics(["never-created"], broker.bootstrap, out=io.StringIO())
    assert time.monotonic() - started < FATAL_WITHIN  # not the admin client's 10 s timeout


def test_a_client_that_does_not_trust_the_ca_or_speaks_plaintext_gets_nowhere(
    broker: SecuredKafka, caplog: pytest.LogCaptureFixture
) -> None:
    untrusting = broker.security(kafka_ssl_ca_location=None)  # the system's CAs only
    with (
        caplog.at_level(logging.WARNING, logger="playball_events.kafka_errors_kafka"),
        pytest.raises(BrokerUnreachableError),
    ):
        TopicsAdmin(broker.bootstrap, timeout=2, security=untrusting).ensure(["x"])
    [warning] = [r.getMessage() for r in caplog.records]
    assert "PLAYBALL_KAFKA_SSL_CA_LOCATION" in warning
    assert "certificate verify failed" in warning

    with pytest.raises(BrokerUnreachableError):  # no PLAINTEXT listener to fall back on
        TopicsAdmin(broker.bootstrap, timeout=1).ensure(["x"])
