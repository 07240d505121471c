"""The relay's producer settings: what ordering and at-least-once rest on, what is tunable."""

from playball_events.outbox.producer_kafka import producer_config


def test_the_relay_produces_idempotently_to_all_replicas_without_nagle() -> None:
    config = producer_config("127.0.0.1:1")
    assert config["enable.idempotence"] is True  # retries keep each user's order
    assert config["acks"] == "all"
    assert config["socket.nagle.disable"] is True


def test_extra_settings_override_the_defaults() -> None:
    config = producer_config("127.0.0.1:1", linger_ms=0, **{"socket.nagle.disable": False})
    assert config["linger.ms"] == 0
    assert config["socket.nagle.disable"] is False
