"""Stack lifecycle on real processes: durability across down/up, no orphans, clear failures."""

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from playball_stack.artifacts import ensure_kafka_jars, load_pins, sha256_of
from playball_stack.errors import ChecksumError, PortInUseError, ToolMissingError
from playball_stack.java import find_java
from playball_stack.maven import Maven
from playball_stack.ports import is_listening
from playball_stack.processes import pids_with_marker
from playball_stack.settings import StackSettings
from playball_stack.stack import Stack
from support.kafka import client_config, consume, create_topic
from support.stack_env import kafka_only_settings, private_stack_settings

pytestmark = pytest.mark.stack

DURABLE_SCHEMA = {
    "type": "record",
    "name": "Durable",
    "namespace": "playball.test",
    "fields": [{"name": "id", "type": "long"}],
}


@pytest.mark.slow
def test_data_survives_down_and_up_and_down_leaves_no_process(
    stack: StackSettings, unique_name: str
) -> None:
    # A private stack of all three components: taking the session's stack down would pull
    # it from under every test running beside this one.
    with tempfile.TemporaryDirectory(prefix="pbstack") as tmp:
        settings = private_stack_settings(stack, Path(tmp))
        running = Stack(settings)
        try:
            running.up(timeout=180)
            # the registry got its extra JVM options (PLAYBALL_REGISTRY_JVM_OPTIONS' field)
            assert running.registry is not None
            registry_pid = running.registry.pid()
            assert registry_pid is not None
            argv = Path(f"/proc/{registry_pid}/cmdline").read_bytes().split(b"\0")
            assert settings.registry_jvm_options.encode() in argv
            create_topic(running.kafka_bootstrap, unique_name)
            producer = Producer(client_config(running.kafka_bootstrap))
            producer.produce(unique_name, key=b"k", value=b"kept across restarts")
            assert producer.flush(30) == 0
            with SchemaRegistryClient({"url": running.registry_url}) as registry:
                schema_id = registry.register_schema(
                    f"{unique_name}-value", Schema(json.dumps(DURABLE_SCHEMA), "AVRO")
                )

            running.down()

            assert pids_with_marker(str(settings.home)) == []
            assert [c.name for c in running.components()] == ["postgres", "registry", "kafka"]
            for component in running.components():
                assert component.pid() is None
                for port in component.ports():
                    assert not is_listening(port), f"{component.name} still listens on {port}"

            running.up(timeout=180)

            assert consume(running.kafka_bootstrap, unique_name, expected=1) == [
                (b"k", b"kept across restarts")
            ]
            with SchemaRegistryClient({"url": running.registry_url}) as fresh_client:
                # a new client: no cached ids, the registry itself kept the schema
                stored = fresh_client.get_schema(schema_id).schema_str
                assert json.loads(stored or "") == DURABLE_SCHEMA
        finally:
            running.down()
        assert pids_with_marker(str(settings.home)) == []


def test_missing_java_is_reported_with_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on PATH
    with pytest.raises(ToolMissingError, match=r"Java 21\+ is needed to run the registry.*JDK"):
        find_java(21, "the registry", jvm_dirs=[tmp_path])


def test_too_old_java_is_named_in_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_home = tmp_path / "jdk8" / "bin"
    fake_home.mkdir(parents=True)
    java = fake_home / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"1.8.0_392\"' >&2\n")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk8"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError, match=r"found only: .*jdk8/bin/java \(8\)"):
        find_java(17, "Kafka", jvm_dirs=[])


def test_port_in_use_is_reported_by_port_and_component(
    stack: StackSettings, tmp_path: Path, listening_port: int
) -> None:
    # a second stack whose Kafka would need the busy port
    settings = kafka_only_settings(stack, tmp_path / "home", listening_port)
    with pytest.raises(PortInUseError) as refused:
        Stack(settings).up(timeout=30)
    assert refused.value.port == listening_port
    assert refused.value.component == "kafka"
    assert str(listening_port) in str(refused.value)
    assert pids_with_marker(str(tmp_path / "home")) == []


def test_corrupted_download_is_refused_and_removed(stack: StackSettings, tmp_path: Path) -> None:
    pins = load_pins().kafka
    cached = stack.cache_dir / f"kafka-{pins.version}" / "libs"
    copy = tmp_path / f"kafka-{pins.version}" / "libs"
    shutil.copytree(cached, copy)
    victim = copy / f"kafka-clients-{pins.version}.jar"
    content = bytearray(victim.read_bytes())
    content[len(content) // 2] ^= 0xFF  # one byte altered
    victim.write_bytes(bytes(content))

    with pytest.raises(ChecksumError, match=victim.name) as refused:
        ensure_kafka_jars(tmp_path, Maven(tmp_path), progress=lambda _message: None)

    assert not victim.exists()
    assert pins.jars[victim.name] in str(refused.value)
    untouched = copy / f"kafka_2.13-{pins.version}.jar"
    assert sha256_of(untouched) == pins.jars[untouched.name]
