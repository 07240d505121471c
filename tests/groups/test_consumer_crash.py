"""A consumer SIGKILLed between its database commit and its offset commit applies nothing
twice after the restart (separate processes, real Kafka, PostgreSQL and SQLite)."""

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from playball_core.registry import RegistryClient
from playball_groups.adapters.database import Engine
from support.principals import service_acls_granted
from support.stack_env import free_port
from support.user_events import EventProducer, create_event_topics, registered, updated

from groups.consuming import (
    committed,
    consumer_environment,
    metric,
    processed,
    view_row,
    wait_for,
)

pytestmark = [pytest.mark.stack, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
PLAYBALL = str(Path(sys.executable).parent / "playball")


def test_sigkill_after_db_commit_before_offset_commit_applies_nothing_twice(
    engine_url: tuple[Engine, str],
    kafka_bootstrap: str,
    registry_url: str,
    unique_name: str,
    consumer_principal: dict[str, str],
) -> None:
    engine, url = engine_url
    topic, group = unique_name, f"{unique_name}-groups"
    with RegistryClient(registry_url) as registry:
        create_event_topics(kafka_bootstrap, registry, topic)
        users = [uuid.uuid4() for _ in range(150)]
        events = [registered(u, 1, "first") for u in users] + [
            updated(u, 2, "second") for u in users
        ]
        EventProducer(kafka_bootstrap, registry, topic).send(events)

    port = free_port()
    env = consumer_environment(
        topic,
        kafka_bootstrap,
        registry_url,
        url,
        consumer_principal,
        PLAYBALL_CONSUMER_METRICS_PORT=str(port),
        PLAYBALL_GROUPS_BATCH_SIZE="100",
        # the killed member holds its partitions until its session times out
        PLAYBALL_GROUPS_SESSION_TIMEOUT_MS="6000",
    )
    with service_acls_granted(kafka_bootstrap, topic, group):
        crashing = subprocess.Popen(
            [sys.executable, str(HERE / "crash_consumer.py")], env=env, start_new_session=True
        )
        try:
            assert crashing.wait(timeout=120) == -signal.SIGKILL
        finally:
            if crashing.poll() is None:
                os.killpg(crashing.pid, signal.SIGKILL)
        in_db_only = processed(engine)
        assert in_db_only > 0  # the batch was committed to the database ...
        assert committed(kafka_bootstrap, group, topic) == 0  # ... and its offsets were not

        restarted = subprocess.Popen(
            [PLAYBALL, "groups", "consume"],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for(lambda: processed(engine) == len(events), 120, "every event processed")
            wait_for(
                lambda: metric(port, "playball_consumer_duplicates_skipped_total") == in_db_only,
                60,
                "the redelivered batch counted as duplicates",
            )
            assert (
                metric(port, "playball_consumer_applied_events_total") == len(events) - in_db_only
            )
            assert all(view_row(engine, u) == (2, False, "second") for u in users)
            wait_for(lambda: metric(port, "playball_consumer_lag") == 0, 60, "lag back to 0")

            restarted.send_signal(signal.SIGTERM)  # graceful: finishes, commits, leaves
            _out, err = restarted.communicate(timeout=60)
            assert restarted.returncode == 0, err
        finally:
            if restarted.poll() is None:
                os.killpg(restarted.pid, signal.SIGKILL)
    assert committed(kafka_bootstrap, group, topic) == len(events)
    assert processed(engine) == len(events)
