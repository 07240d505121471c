"""The topic settings that bound erasure, and the bound computed from what they are.

Unit tests: the settings' defaults, names and checks; what `topics ensure` would set on a
topic and its .dlq; the arithmetic of `playball privacy bound` (tests/privacy/
test_privacy_bound.py reads the settings from a real broker)."""

import pytest
from playball_events.cli_topics import app as topics_app
from playball_events.outbox.relay_settings import RelaySettings
from playball_events.settings import SettingsError, load_settings
from playball_events.topic_settings import TopicSettings, load_topic_settings
from playball_events.topics_admin_kafka import topic_specs
from playball_groups.settings import GroupsSettings
from playball_privacy.bound import BoundError, duration, erasure_bound
from typer.testing import CliRunner

DAY = "86400000"


def test_the_defaults_bound_compaction_within_a_day(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SEGMENT_MS", "MAX_COMPACTION_LAG_MS", "MIN_CLEANABLE_DIRTY_RATIO"):
        monkeypatch.delenv(f"PLAYBALL_TOPIC_{name}", raising=False)
    monkeypatch.delenv("PLAYBALL_TOPIC_DELETE_RETENTION_MS", raising=False)
    settings = load_topic_settings()
    assert settings.topic_config() == {
        "max.compaction.lag.ms": DAY,
        "segment.ms": DAY,
        "min.cleanable.dirty.ratio": "0.1",
        "delete.retention.ms": DAY,
    }
    assert settings.marker_interval_seconds() == 43_200.0


def test_each_setting_has_a_variable_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYBALL_TOPIC_MAX_COMPACTION_LAG_MS", "7000")
    monkeypatch.setenv("PLAYBALL_TOPIC_SEGMENT_MS", "4000")
    monkeypatch.setenv("PLAYBALL_TOPIC_MIN_CLEANABLE_DIRTY_RATIO", "0.25")
    monkeypatch.setenv("PLAYBALL_TOPIC_DELETE_RETENTION_MS", "1000")
    settings = load_topic_settings()
    assert settings.topic_config() == {
        "max.compaction.lag.ms": "7000",
        "segment.ms": "4000",
        "min.cleanable.dirty.ratio": "0.25",
        "delete.retention.ms": "1000",
    }
    assert settings.marker_interval_seconds() == 2.0
    # the relay and the consumer pace their markers by the same variable
    assert load_settings(RelaySettings).marker_interval_seconds() == 2.0
    assert load_settings(GroupsSettings).marker_interval_seconds() == 2.0


def test_a_segment_longer_than_the_lag_is_refused_naming_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLAYBALL_TOPIC_MAX_COMPACTION_LAG_MS", "60000")
    monkeypatch.setenv("PLAYBALL_TOPIC_SEGMENT_MS", "60001")
    with pytest.raises(SettingsError) as refused:
        load_topic_settings()
    assert "PLAYBALL_TOPIC_SEGMENT_MS (60001) must not exceed" in str(refused.value)
    assert "PLAYBALL_TOPIC_MAX_COMPACTION_LAG_MS (60000)" in str(refused.value)


def test_topics_ensure_refuses_it_before_asking_any_broker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLAYBALL_TOPIC_SEGMENT_MS", str(2 * 86_400_000))
    result = CliRunner().invoke(topics_app, ["ensure", "--bootstrap", "127.0.0.1:1"])
    assert result.exit_code == 2
    assert "error: invalid settings" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PLAYBALL_TOPIC_SEGMENT_MS", "999"),  # a marker more than twice a second
        ("PLAYBALL_TOPIC_MIN_CLEANABLE_DIRTY_RATIO", "0"),
        ("PLAYBALL_TOPIC_MIN_CLEANABLE_DIRTY_RATIO", "1.5"),
        ("PLAYBALL_TOPIC_DELETE_RETENTION_MS", "-1"),
    ],
)
def test_values_out_of_range_are_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_topic_settings()


def test_a_topic_and_its_dead_letter_topic_get_the_same_compaction_settings() -> None:
    wanted = TopicSettings(topic_segment_ms=5000, topic_max_compaction_lag_ms=5000).topic_config()
    specs = {spec.name: spec.config for spec in topic_specs(["t"], 1, retention=wanted)}
    for name in ("t", "t.dlq"):
        assert {key: specs[name][key] for key in wanted} == wanted


def configs(segment: str, lag: str) -> dict[str, str]:
    return {"segment.ms": segment, "max.compaction.lag.ms": lag, "cleanup.policy": "compact"}


def test_the_bound_sums_the_five_terms_from_the_slowest_topic_and_broker() -> None:
    bound = erasure_bound(
        retention_seconds=10,
        cleanup_interval_seconds=2,
        marker_interval_seconds=1.5,
        env_segment_ms=3000,
        topic_configs={"t": configs("3000", "4000"), "t.dlq": configs("5000", "3500")},
        cleaner_backoff_ms={1: "1000", 2: "2500"},
    )
    terms = {term.name: (term.seconds, term.source) for term in bound.terms}
    assert terms == {
        "outbox retention": (10, "PLAYBALL_RELAY_RETENTION_SECONDS"),
        "outbox cleanup interval": (2, "PLAYBALL_RELAY_CLEANUP_INTERVAL"),
        "min(segment.ms, max.compaction.lag.ms)": (3.5, "topic t.dlq"),
        "roll marker interval": (1.5, "PLAYBALL_TOPIC_SEGMENT_MS / 2"),
        "log.cleaner.backoff.ms": (2.5, "broker 2"),
    }
    assert bound.seconds == 19.5
    assert bound.to_json()["bound_seconds"] == 19.5
    # the .dlq's segment.ms is not the variable the markers are paced by: said
    assert any("t.dlq has segment.ms=5000" in note for note in bound.notes)
    assert not any("topic t has" in note for note in bound.notes)


def test_a_missing_setting_is_an_error_not_a_number() -> None:
    with pytest.raises(BoundError, match=r"reports no max\.compaction\.lag\.ms"):
        erasure_bound(
            retention_seconds=1,
            cleanup_interval_seconds=1,
            marker_interval_seconds=1,
            env_segment_ms=1000,
            topic_configs={"t": {"segment.ms": "1000"}},
            cleaner_backoff_ms={1: "15000"},
        )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(8.5, "8.5 s"), (125, "2 min 5 s"), (3 * 3600 + 60, "3 h 1 min"), (60 * 3600, "2 d 12 h")],
)
def test_the_bound_reads_as_a_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text
