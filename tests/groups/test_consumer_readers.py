"""Readers are tracked (real Kafka, registry, SQLite): two `playball groups consume`
instances of one group both publish a reader record on the test's own readers topic;
`playball readers list` shows them with last_seen, a clean stop writes stopped_at, and
`schemas check --readers` fails a change that the running readers cannot read."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from playball_core.exits import ExitCode
from playball_core.registry import RegistryClient
from playball_events.kafka_security import kafka_security_from_environment
from playball_events.readers.readers_kafka import ensure_readers_topic
from playball_groups.adapters.database import make_engine
from playball_groups.adapters.migrate import upgrade
from playball_schemagate.cli import app as schemas_app
from playball_schemagate.readers_cli import app as readers_app
from schemagate.test_schemagate_check_git import Repo, manifest
from support.databases import sqlite_url
from support.principals import service_acls_granted
from support.user_events import create_event_topics
from typer.testing import CliRunner

from groups.consuming import consumer_environment, wait_for

pytestmark = pytest.mark.stack

PLAYBALL = str(Path(sys.executable).parent / "playball")
REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
runner = CliRunner()


def listed(monkeypatch: pytest.MonkeyPatch, readers_topic: str, group: str) -> list[Any]:
    """`playball readers list --json` as the admin, this test's group only."""
    monkeypatch.setenv("PLAYBALL_READERS_TOPIC", readers_topic)
    result = runner.invoke(readers_app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    return [r for r in json.loads(result.stdout) if r["consumer_group"] == group]


def start(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PLAYBALL, "groups", "consume"],
        env=env,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def test_two_instances_are_listed_and_a_clean_stop_writes_stopped_at(
    kafka_bootstrap: str,
    registry_url: str,
    unique_name: str,
    tmp_path: Path,
    consumer_principal: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topic, group, readers_topic = unique_name, f"{unique_name}-groups", f"{unique_name}.readers"
    url = sqlite_url(tmp_path)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    with RegistryClient(registry_url) as registry:
        create_event_topics(kafka_bootstrap, registry, topic, partitions=1)
    security = kafka_security_from_environment()
    assert ensure_readers_topic(kafka_bootstrap, readers_topic, security=security)
    env = consumer_environment(
        topic,
        kafka_bootstrap,
        registry_url,
        url,
        consumer_principal,
        PLAYBALL_CONSUMER_METRICS_PORT="0",
        PLAYBALL_READERS_TOPIC=readers_topic,
    )
    processes: list[subprocess.Popen[str]] = []
    try:
        with service_acls_granted(kafka_bootstrap, topic, group, readers_topic=readers_topic):
            processes = [start(env), start(env)]
            wait_for(
                lambda: len(listed(monkeypatch, readers_topic, group)) == 2,
                timeout=60,
                what="two reader records",
            )
            readers = listed(monkeypatch, readers_topic, group)
            assert len({r["instance_id"] for r in readers}) == 2
            for reader in readers:
                assert reader["service"] == "groups-consumer"
                assert reader["topic"] == topic
                assert reader["key"] == f"groups-consumer/{group}/{topic}/{reader['instance_id']}"
                assert reader["last_seen"] and reader["stopped_at"] is None
                names = {entry["record_name"] for entry in reader["readers"]}
                assert "playball.auth.v1.UserRegistered" in names

            # the gate sees these readers: dropping a field they require fails it
            repo = Repo(tmp_path / "repo")
            subject = f"{topic}-playball.auth.v1.UserRegistered"
            repo.write("manifest.toml", manifest(("U.avsc", topic, subject, "BACKWARD")))
            original = (REPO_SCHEMAS / "UserRegistered.avsc").read_text(encoding="utf-8")
            repo.write("U.avsc", original)
            repo.commit("v1")
            lines = [
                line for line in original.splitlines(keepends=True) if '"username"' not in line
            ]
            repo.write("U.avsc", "".join(lines))
            checked = runner.invoke(
                schemas_app,
                ["check", "--schemas", str(repo.schemas), "--against", "main", "--readers"],
            )
            assert checked.exit_code == ExitCode.CHECK_FAILED, checked.output
            assert f"groups-consumer 0.1.0, group {group}, instance" in checked.output
            assert "fields[username]" in checked.output
            assert "checked 2 deployed reader(s)" in checked.output

            stopping = processes[0]
            stopping.send_signal(signal.SIGTERM)
            assert stopping.wait(timeout=60) == 0, stopping.stderr.read() if stopping.stderr else ""
            stopped_id = None

            def one_stopped() -> bool:
                nonlocal stopped_id
                states = listed(monkeypatch, readers_topic, group)
                done = [r for r in states if r["stopped_at"] is not None]
                if len(states) == 2 and len(done) == 1:
                    stopped_id = done[0]["instance_id"]
                    return True
                return False

            wait_for(one_stopped, timeout=60, what="stopped_at of the stopped instance")
            assert stopped_id is not None

            # prune: tombstones for every instance seen before now (both, here)
            pruned = runner.invoke(readers_app, ["prune", "--older-than", "0"])
            assert pruned.exit_code == 0, pruned.output
            assert "2 of 2 reader(s) pruned" in pruned.output
            assert listed(monkeypatch, readers_topic, group) == []
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            if process.stderr:
                process.stderr.close()


def test_the_readers_topic_is_compacted_with_one_partition_and_no_dead_letter_topic(
    kafka_bootstrap: str, unique_name: str
) -> None:
    from confluent_kafka.admin._config import ConfigResource  # noqa: PLC0415
    from support.kafka import admin_client  # noqa: PLC0415

    readers_topic = f"{unique_name}.readers"
    security = kafka_security_from_environment()
    assert ensure_readers_topic(kafka_bootstrap, readers_topic, security=security)
    assert not ensure_readers_topic(kafka_bootstrap, readers_topic, security=security)
    admin = admin_client(kafka_bootstrap)
    topics = admin.list_topics(timeout=10).topics
    assert len(topics[readers_topic].partitions) == 1
    assert f"{readers_topic}.dlq" not in topics
    resource = ConfigResource(ConfigResource.Type.TOPIC, readers_topic)
    [future] = admin.describe_configs([resource]).values()
    assert future.result(timeout=10)["cleanup.policy"].value == "compact"
