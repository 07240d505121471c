"""The stack's settings: ports, which components are external, and the URLs derived from them."""

from pathlib import Path

import pytest
from playball_stack.components.kafka import (
    bootstrap_servers,
)
from playball_stack.components.registry import jdbc_from_sqlalchemy_url
from playball_stack.settings import StackSettings
from playball_stack.stack import (
    Stack,
    redact,
)
from pydantic import ValidationError


@pytest.mark.parametrize("variable", ["PLAYBALL_KAFKA_PORT", "PLAYBALL_POSTGRES_PORT"])
@pytest.mark.parametrize("value", ["80", "70000"])
def test_port_out_of_range_is_a_clear_error(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=rf"port {value} is outside 1024-65535"):
        StackSettings()


def test_database_url_from_the_environment_makes_postgres_external(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql+psycopg://app:pw@db.example:5432/app"
    monkeypatch.setenv("DATABASE_URL", url)
    settings = StackSettings()
    assert settings.database_url == url
    assert settings.home == clean_env

    stack = Stack(settings)

    assert stack.postgres is None
    assert [c.name for c in stack.components()] == ["registry", "kafka"]
    assert stack.registry is not None
    assert stack.registry.database_url == url  # the registry stores into that server


def test_a_fully_external_stack_owns_no_component(external_env: Path) -> None:
    stack = Stack(StackSettings())
    assert stack.components() == []
    assert stack.logs() == {}
    assert stack.kafka_bootstrap == "127.0.0.1:1"
    assert stack.registry_url == "http://127.0.0.1:1"


def test_three_recorded_brokers_give_three_nodes(clean_env: Path) -> None:
    (clean_env / "kafka").mkdir(parents=True)
    (clean_env / "kafka" / "brokers").write_text("3\n")
    stack = Stack(StackSettings(kafka_port=29092))
    assert [n.name for n in stack.kafka_nodes] == ["kafka-1", "kafka-2", "kafka-3"]
    assert stack.kafka_bootstrap == bootstrap_servers(29092, 3)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql+psycopg://playball:playball@127.0.0.1:15432/playball",
            ("jdbc:postgresql://127.0.0.1:15432/playball_registry", "playball", "playball"),
        ),
        (
            "postgresql://db.example:5433/app",
            ("jdbc:postgresql://db.example:5433/playball_registry", "", ""),
        ),
        (
            "postgresql+psycopg://app@db.example/app",
            ("jdbc:postgresql://db.example:5432/playball_registry", "app", ""),
        ),
        (  # SQLAlchemy percent-encodes '@', ':' and '/' in credentials
            "postgresql+psycopg://us%40er:p%40ss%3Aw%2Fd@db:5432/app",
            ("jdbc:postgresql://db:5432/playball_registry", "us@er", "p@ss:w/d"),
        ),
        (
            "postgresql://u:p@[::1]:5432/app",
            ("jdbc:postgresql://[::1]:5432/playball_registry", "u", "p"),
        ),
    ],
)
def test_jdbc_from_sqlalchemy_url(url: str, expected: tuple[str, str, str]) -> None:
    assert jdbc_from_sqlalchemy_url(url, "playball_registry") == expected


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://u:secret@h:5432/db", "postgresql+psycopg://***@h:5432/db"),
        ("postgresql://u@h/db", "postgresql://***@h/db"),
        ("postgresql://u:se@cret@h/db", "postgresql://***@h/db"),
        ("u:secret@h/db", "***@h/db"),
        ("postgresql://h:5432/db", "postgresql://h:5432/db"),
    ],
)
def test_redact_hides_credentials(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert "secret" not in redact(url)


def test_extra_kafka_jvm_options_come_from_the_environment_word_by_word(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYBALL_KAFKA_JVM_OPTIONS", "-XX:TieredStopAtLevel=1  -Dx='a b'")
    stack = Stack(StackSettings())
    assert stack.kafka is not None
    assert stack.kafka.jvm_options == ("-XX:TieredStopAtLevel=1", "-Dx=a b")


def test_extra_registry_jvm_options_come_from_the_environment_word_by_word(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYBALL_REGISTRY_JVM_OPTIONS", "-XX:TieredStopAtLevel=1  -Dx='a b'")
    stack = Stack(StackSettings())
    assert stack.registry is not None
    assert stack.registry.jvm_options == ("-XX:TieredStopAtLevel=1", "-Dx=a b")
