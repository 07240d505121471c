"""``playball groups dlq`` on a dead-letter topic holding forged letters (real broker).

Anything that can write the ``.dlq`` can put any headers there. Listing shows such a
letter as malformed and never lets its control characters reach the terminal; redrive
refuses one that names another topic, by its offset, sends nothing, and sends a good one
only to the topic the dead-letter topic belongs to.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from playball_core.manifest import dead_letter_topic
from playball_events.consumer.dead_letter import dead_letter_headers
from playball_events.consumer.ports import DeadLetter, RawMessage
from support.kafka import client_config, consume, create_topic
from support.user_events import now

pytestmark = pytest.mark.stack

PLAYBALL = str(Path(sys.executable).parent / "playball")
Headers = list[tuple[str, str | bytes | None]]
HOSTILE = "\x1b]0;owned\x07\x1b[2J\u202egnp.exe\x9b31m"


def _forge(bootstrap: str, dlq: str, letters: list[tuple[bytes, Headers]]) -> None:
    producer = Producer(client_config(bootstrap))
    for value, headers in letters:
        producer.produce(dlq, key=b"user-1", value=value, headers=headers)
    assert producer.flush(30) == 0


def _headers(source: str, reason: str = "invalid display_name") -> Headers:
    original = RawMessage(source, 0, 3, b"user-1", b"v", (("event_type", b"UserUpdated"),))
    written = dead_letter_headers(DeadLetter(original, reason, "invalid", parked_at=now()))
    return [(k, v if isinstance(v, bytes) else str(v).encode()) for k, v in written]


def _playball(topic: str, bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLAYBALL_GROUPS_TOPIC": topic, "PLAYBALL_KAFKA_BOOTSTRAP": bootstrap}
    return subprocess.run(
        [PLAYBALL, "groups", "dlq", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _end_offset(bootstrap: str, topic: str) -> int:
    """How many messages the single-partition ``topic`` ever received."""
    reader = Consumer(client_config(bootstrap, **{"group.id": "unused"}))
    try:
        return int(reader.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1])
    finally:
        reader.close()


def _printable(output: str) -> bool:
    return all(line.isprintable() for line in output.splitlines())


def test_forged_letters_are_listed_escaped_and_redrive_sends_only_to_the_dlq_owner(
    kafka_bootstrap: str, unique_name: str
) -> None:
    topic, decoy = unique_name, f"{unique_name}-decoy"
    dlq = dead_letter_topic(topic)
    for name in (topic, decoy, dlq):
        create_topic(kafka_bootstrap, name)
    malformed: Headers = [
        *[h for h in _headers(topic) if h[0] != "dlq.source.partition"],
        ("dlq.source.partition", b"\xff\xfe"),
    ]
    _forge(
        kafka_bootstrap,
        dlq,
        [
            (b"good", _headers(topic)),  # offset 0: as the consumer parks one
            (b"to-decoy", _headers(decoy, reason=HOSTILE)),  # 1: names another topic
            (b"bad", malformed),  # 2: a header of the wrong type
        ],
    )

    listed = _playball(topic, kafka_bootstrap, "list")
    assert listed.returncode == 0, listed.stderr
    assert _printable(listed.stdout), listed.stdout
    lines = listed.stdout.splitlines()
    assert lines[0] == f"3 message(s) on {dlq}, 1 malformed"
    assert "\\x1b]0;owned\\x07\\x1b[2J\\u202egnp.exe\\x9b31m" in lines[2]
    assert "MALFORMED: dlq.source.partition is not a non-negative integer" in lines[3]
    as_json = _playball(topic, kafka_bootstrap, "list", "--json")
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)["messages"]
    assert [bool(r["malformed"]) for r in rows] == [False, False, True]

    refused = _playball(topic, kafka_bootstrap, "redrive", "--all")
    assert refused.returncode == 1
    assert _printable(refused.stderr), refused.stderr
    assert "nothing was sent" in refused.stderr
    assert f"offset 1 (partition 0): it names source topic '{decoy}'" in refused.stderr
    assert "offset 2 (partition 0): the letter is malformed" in refused.stderr
    assert "offset 0 " not in refused.stderr

    sent = _playball(topic, kafka_bootstrap, "redrive", "0")
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.strip() == f"redrove 1 message(s) to {topic}"
    assert consume(kafka_bootstrap, topic, 1) == [(b"user-1", b"good")]
    assert (_end_offset(kafka_bootstrap, topic), _end_offset(kafka_bootstrap, decoy)) == (1, 0)
