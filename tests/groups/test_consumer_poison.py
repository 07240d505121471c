"""No message stops the groups consumer (real Kafka, registry, SQLite): a run of poison at
the limit stops it with exit 1 at the same place each start, parking none of the run;
letters too large for the dead-letter topic are parked as stubs (never redriven); a
schema id of another topic's subject is parked as foreign; the view keeps moving."""

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import fastavro
import pytest
from confluent_kafka import Producer
from playball_core.manifest import dead_letter_topic
from playball_core.registry import RegistryClient
from playball_events.consumer.dlq_kafka import read_parked, redrive
from playball_events.consumer.loop import BatchReport
from playball_events.consumer.metrics import ConsumerMetrics
from playball_events.consumer.redrive_checks import RedriveRefusedError
from playball_events.contracts import UserRegistered
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_events.kafka_security import kafka_security_from_environment
from playball_events.message_limits import dead_letter_max_bytes
from playball_events.serde import RecordSerializer, header
from playball_groups.adapters.database import make_engine
from playball_groups.adapters.migrate import upgrade
from playball_groups.entrypoints.bootstrap import build_consumer
from support.databases import sqlite_url
from support.kafka import client_config, create_topic
from support.principals import service_acls_granted
from support.user_events import EventProducer, create_event_topics, headers_of, registered

from groups.consuming import (
    committed,
    consumer_environment,
    settings_for,
    total,
    view_row,
)

pytestmark = pytest.mark.stack

PLAYBALL = str(Path(sys.executable).parent / "playball")
LIMIT = 5


def consume(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``playball groups consume`` until it exits by itself (bounded by a timeout)."""
    process = subprocess.Popen(
        [PLAYBALL, "groups", "consume"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_a_run_of_poison_at_the_limit_stops_with_exit_1_at_the_same_place_each_start(
    kafka_bootstrap: str,
    registry_url: str,
    unique_name: str,
    tmp_path: Path,
    consumer_principal: dict[str, str],
) -> None:
    topic, group = unique_name, f"{unique_name}-groups"
    admin = kafka_security_from_environment()
    url = sqlite_url(tmp_path)
    upgrade(make_engine(url))
    good = [registered(uuid.uuid4(), 1, f"user {n}") for n in range(5)]
    with RegistryClient(registry_url) as registry:
        create_event_topics(kafka_bootstrap, registry, topic, partitions=1)
        producer = EventProducer(kafka_bootstrap, registry, topic)
        producer.send(good[:3])  # offsets 0-2
        for n in range(LIMIT):  # offsets 3-7: forged, not the wire format
            producer.send_raw(b"forged", b"\x07forged %d" % n, [])
        producer.send(good[3:])  # offsets 8-9
    env = consumer_environment(
        topic,
        kafka_bootstrap,
        registry_url,
        url,
        consumer_principal,
        PLAYBALL_CONSUMER_METRICS_PORT="0",
        PLAYBALL_GROUPS_MAX_CONSECUTIVE_POISON=str(LIMIT),
    )
    for start in ("first", "second"):
        with service_acls_granted(kafka_bootstrap, topic, group):
            stopped = consume(env)
        assert stopped.returncode == 1, (start, stopped.stderr[-3000:])
        logged = stopped.stderr
        assert "first offset 3, last offset 7" in logged, logged[-3000:]
        assert "UnknownMagicByteError" in logged  # the run's first reason
        assert committed(kafka_bootstrap, group, topic, partitions=1) == 3, start
        assert read_parked(kafka_bootstrap, dead_letter_topic(topic), security=admin) == [], start
    engine = make_engine(url)
    assert all(view_row(engine, e.user_id) is not None for e in good[:3])
    engine.dispose()


def test_too_large_letters_become_stubs_foreign_ids_are_parked_and_the_view_moves_on(
    kafka_bootstrap: str, registry_url: str, unique_name: str, tmp_path: Path
) -> None:
    """The topic's limit was raised to 2 MiB, its .dlq's not yet (1 MiB + 64 KiB)."""
    topic, dlq = unique_name, dead_letter_topic(unique_name)
    raised = 2 * 1024 * 1024
    create_topic(kafka_bootstrap, topic, config={"max.message.bytes": str(raised)})
    create_topic(kafka_bootstrap, dlq, config={"max.message.bytes": str(dead_letter_max_bytes())})
    with RegistryClient(registry_url) as registry:
        serializer = RecordSerializer(registry, topic)
        for cls in PLAYBALL_AUTH_USER_EVENTS_V1.records:
            registry.register(serializer.subject(cls), json.dumps(cls.avro_schema()))
        newer = UserRegistered.avro_schema()
        newer["fields"].append({"name": "note", "type": "string", "default": ""})
        foreign_id = registry.register(
            f"{topic}x-playball.auth.v1.UserRegistered", json.dumps(newer)
        )
        foreign_event, last = registered(uuid.uuid4()), registered(uuid.uuid4(), 1, "Last")
        body = io.BytesIO()
        datum = {**foreign_event.to_avro(), "note": ""}
        fastavro.schemaless_writer(body, fastavro.parse_schema(newer), datum)
        big_key = b"k" * 300_000
        producer = Producer(
            client_config(kafka_bootstrap, **{"message.max.bytes": raised + 65_536})
        )
        sent = [
            (b"user-a", b"\x07" + b"v" * 1_040_000),  # 0: 1.04 MB: fits the .dlq whole
            # 1: a key that is no user id, 300 KB of it, and a 900 KB name: too large too
            (big_key, serializer.serialize(registered(uuid.uuid4(), 1, "n" * 900_000))),
            (b"user-c", b"\x07" + b"v" * 1_500_000),  # 2: too large for the .dlq
            (str(foreign_event.user_id).encode(), header(foreign_id) + body.getvalue()),  # 3
        ]
        for key, value in sent:
            producer.produce(topic, key=key, value=value)
        producer.produce(
            topic,
            key=str(last.user_id).encode(),
            value=serializer.serialize(last),
            headers=headers_of(last),
        )
        assert producer.flush(30) == 0
    url = sqlite_url(tmp_path)
    engine = make_engine(url)
    upgrade(engine)
    settings = settings_for(
        topic, kafka_bootstrap, registry_url, url, kafka_max_message_bytes=raised
    )
    metrics = ConsumerMetrics(topic)
    consumer = build_consumer(settings, engine=engine, metrics=metrics)
    # Big messages come a few per poll, so the run of poison spans batches: it is read
    # again from its start once the good message ends it, and parked then.
    reports: list[BatchReport] = []
    deadline = time.monotonic() + 60
    try:
        while total(reports, "dead_lettered") < len(sent) or view_row(engine, last.user_id) is None:
            assert time.monotonic() < deadline, reports
            reports.append(consumer.run_once())
    finally:
        consumer.close()
    assert view_row(engine, last.user_id) == (1, False, "Last")  # the view kept moving
    assert total(reports, "dead_lettered") == len(sent)  # each parked once
    assert committed(kafka_bootstrap, settings.groups_consumer_group, topic, 1) == len(sent) + 1
    assert metrics.value("playball_consumer_dlq_stubs_total") == 2

    admin = kafka_security_from_environment()
    parked = {p.source_offset: p for p in read_parked(kafka_bootstrap, dlq, security=admin)}
    assert sorted(parked) == [0, 1, 2, 3]
    assert [offset for offset, p in sorted(parked.items()) if p.stub] == [1, 2]
    assert parked[0].value == sent[0][1]  # 1.04 MB, parked whole
    assert parked[1].key == b"sha256:" + hashlib.sha256(big_key).hexdigest().encode()
    assert (parked[1].value, parked[2].value, parked[2].key) == (b"", b"", b"user-c")
    assert "(300000 bytes)" in parked[1].reason
    assert all(len(p.reason.encode()) <= 1024 for p in parked.values())
    assert parked[3].kind == "foreign_schema"
    assert "not registered under subject" in parked[3].reason
    with pytest.raises(RedriveRefusedError, match="it is a stub") as refused:
        redrive(kafka_bootstrap, dlq, [parked[1]], security=admin)
    assert f"offset {parked[1].offset} " in str(refused.value)
    engine.dispose()
