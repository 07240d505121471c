"""`playball privacy bound` prints the bound the topic's actual settings give.

The topic is made by `playball topics ensure` with settings of the test's own; then its
dead-letter topic is changed behind the project's back, and the bound follows what the
broker reports, not what the environment says."""

import json

import pytest
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from playball_events.cli_topics import app as topics_app
from playball_privacy.cli import app as privacy_app
from support.kafka import admin_client
from support.stack_env import wait_for
from typer.testing import CliRunner

pytestmark = pytest.mark.stack

runner = CliRunner()


@pytest.fixture
def relay_and_topic_settings(monkeypatch: pytest.MonkeyPatch, unique_name: str) -> None:
    for name, value in {
        "PLAYBALL_RELAY_RETENTION_SECONDS": "7",
        "PLAYBALL_RELAY_CLEANUP_INTERVAL": "3",
        "PLAYBALL_TOPIC_SEGMENT_MS": "60000",
        "PLAYBALL_TOPIC_MAX_COMPACTION_LAG_MS": "120000",
        # the grants of the ensure go to the test's own group, removed with its topics
        "PLAYBALL_GROUPS_CONSUMER_GROUP": unique_name,
    }.items():
        monkeypatch.setenv(name, value)


def broker_setting(bootstrap: str, key: str) -> int:
    admin = admin_client(bootstrap)
    node = min(admin.list_topics(timeout=10).brokers)
    resource = ConfigResource(ConfigResource.Type.BROKER, str(node))
    return int(admin.describe_configs([resource])[resource].result(timeout=10)[key].value)


def set_topic(bootstrap: str, topic: str, key: str, value: str) -> None:
    entry = ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[entry])
    for future in admin_client(bootstrap).incremental_alter_configs([resource]).values():
        future.result(timeout=30)


def bound_of(bootstrap: str, topic: str) -> dict[str, object]:
    result = runner.invoke(
        privacy_app,
        ["bound", "--topic", topic, "--json"],
        env={"PLAYBALL_KAFKA_BOOTSTRAP": bootstrap},
    )
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.output)
    return document


@pytest.mark.usefixtures("relay_and_topic_settings")
def test_the_bound_is_the_sum_of_the_settings_in_force(
    kafka_bootstrap: str, unique_name: str
) -> None:
    ensured = runner.invoke(
        topics_app, ["ensure", "--bootstrap", kafka_bootstrap, "--topic", unique_name]
    )
    assert ensured.exit_code == 0, ensured.output
    backoff = broker_setting(kafka_bootstrap, "log.cleaner.backoff.ms") / 1000
    terms = {t["term"]: t for t in bound_of(kafka_bootstrap, unique_name)["terms"]}  # type: ignore[attr-defined]
    assert {name: t["seconds"] for name, t in terms.items()} == {
        "outbox retention": 7,
        "outbox cleanup interval": 3,
        "min(segment.ms, max.compaction.lag.ms)": 60,
        "roll marker interval": 30,
        "log.cleaner.backoff.ms": backoff,
    }

    # the dead-letter topic now rolls later than the topic: the bound takes the later
    dlq = f"{unique_name}.dlq"
    set_topic(kafka_bootstrap, dlq, "segment.ms", "90000")

    def follows() -> bool:
        document = bound_of(kafka_bootstrap, unique_name)
        return document["bound_seconds"] == 7 + 3 + 90 + 30 + backoff

    wait_for(follows, "the bound to follow the altered segment.ms", 30)
    document = bound_of(kafka_bootstrap, unique_name)
    roll = next(t for t in document["terms"] if t["term"].startswith("min("))  # type: ignore[attr-defined]
    assert roll["source"] == f"topic {dlq}"
    assert any(f"{dlq} has segment.ms=90000" in note for note in document["notes"])  # type: ignore[attr-defined]

    text = runner.invoke(
        privacy_app,
        ["bound", "--topic", unique_name],
        env={"PLAYBALL_KAFKA_BOOTSTRAP": kafka_bootstrap},
    )
    assert text.exit_code == 0
    assert text.output.startswith(f"erasure bound: {7 + 3 + 90 + 30 + backoff:.3f} s")
    for line in ("outbox retention", "roll marker interval", "log.cleaner.backoff.ms"):
        assert line in text.output


@pytest.mark.usefixtures("relay_and_topic_settings")
def test_a_missing_topic_exits_1(kafka_bootstrap: str, unique_name: str) -> None:
    missing = runner.invoke(
        privacy_app,
        ["bound", "--topic", unique_name],
        env={"PLAYBALL_KAFKA_BOOTSTRAP": kafka_bootstrap},
    )
    assert missing.exit_code == 1
    assert f"no such topic on {kafka_bootstrap}: {unique_name}" in missing.output
