"""Personal values never reach a log or a command's output (issue 20, "Done when").

The running system (the package's one start, shared with the flow test) is driven through
every path that prints something about a record, with names that are unique random
strings; then every service log, the stack's logs and every command output are scanned
for them. The paths:

- a poison message carrying a name (too long for the view): its dead letter's reason,
  the consumer's log lines, and ``groups dlq list``;
- serde errors on tagged records (a body cut inside the name, a name that is not UTF-8);
- an exception containing a record's ``repr``: a consumer whose handler refuses a record
  by quoting it (the runtime's real loop, source, decoder and dead-letter producer, run in
  this process with its log in a file, since no service raises such an exception itself);
- ``auth outbox status`` with a parked row whose payload holds a name.

The scan is shown to find what is there first: a planted value, and the one value of
these events that is meant to be logged, the (pseudonymous) user id of the parked row.
"""

import dataclasses
import logging
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from playball_core.manifest import dead_letter_topic
from playball_core.registry import RegistryClient
from playball_events.consumer.dead_letter import ParkedMessage
from playball_events.consumer.dead_letters_kafka import KafkaDeadLetters
from playball_events.consumer.dlq_kafka import read_parked
from playball_events.consumer.loop import EventConsumer
from playball_events.consumer.metrics import ConsumerMetrics
from playball_events.consumer.ports import ApplyOutcome, ConsumedEvent
from playball_events.consumer.processed_sql import SqlProcessedEvents
from playball_events.consumer.source_kafka import KafkaSource, consumer_config
from playball_events.contracts import UserRegistered, UserUpdated
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_events.kafka_security import kafka_security_from_environment
from playball_events.outbox.model import new_outbox_event
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.serde import RecordDeserializer, RecordSerializer, header
from playball_groups.adapters.database import make_engine
from playball_groups.adapters.migrate import upgrade
from playball_groups.adapters.tables import processed_events
from playball_groups.adapters.unit_of_work import repositories_on
from playball_groups.domain.user_view import UserEvent
from playball_groups.service_layer.user_events import UserEventHandler
from playball_orchestration.demo import trusting
from playball_stack.settings import StackSettings
from playball_stack.stack import Stack
from sqlalchemy.engine import Connection
from support.databases import sqlite_url
from support.kafka import create_topic, start_group_at_end
from support.outbox import insert_events
from support.principals import admin_environment
from support.system import RunningSystem
from support.user_events import EventProducer, headers_of, now

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.xdist_group("e2e-system")]

TOPIC = PLAYBALL_AUTH_USER_EVENTS_V1.name
DEADLINE = 90.0
log = logging.getLogger("pii-test.handler")


def secret(label: str) -> str:
    """A value no log holds by chance: what any leak of it would show."""
    return f"{label}{uuid.uuid4().hex[:14]}"


def leaks(texts: dict[str, str], values: Sequence[str]) -> list[tuple[str, str]]:
    return [(name, value) for name, text in texts.items() for value in values if value in text]


def wait_until(
    what: str, condition: Callable[[], Any], timeout: float = DEADLINE, interval: float = 0.2
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(interval)


def playball(words: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "playball_cli", *words],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"playball {' '.join(words)}: {result.stdout}{result.stderr}"
    return result.stdout + result.stderr


class QuotingHandler(UserEventHandler[Connection]):
    """The groups handler, but refusing one display name by quoting the record: its log
    line and its exception hold nothing but the record's ``repr`` to give a value away."""

    def __init__(self, refused: str) -> None:
        super().__init__(repositories_on)
        self.refused = refused

    def apply(
        self, fresh: Sequence[ConsumedEvent[UserEvent]], tx: Connection
    ) -> ApplyOutcome[UserEvent]:
        for event in fresh:
            if getattr(event.record, "display_name", None) == self.refused:
                log.error("refusing %r", event.record)
                msg = f"refused {event.record!r}"
                raise RuntimeError(msg)
        return super().apply(fresh, tx)


@dataclasses.dataclass
class QuotingConsumer:
    """The runtime's consumer loop on the user-events topic, parking to a private .dlq."""

    consumer: EventConsumer[UserEvent, Connection]
    dlq: str
    log_file: Path


@pytest.fixture
def quoting_consumer(
    kafka_bootstrap: str,
    registry_url: str,
    unique_name: str,
    tmp_path: Path,
) -> Iterator[Callable[[str], QuotingConsumer]]:
    made: list[tuple[QuotingConsumer, logging.Handler, RegistryClient]] = []

    def make(refused: str) -> QuotingConsumer:
        group, dlq = f"{unique_name}-groups", dead_letter_topic(unique_name)
        create_topic(kafka_bootstrap, dlq)
        start_group_at_end(kafka_bootstrap, group, TOPIC)
        url = sqlite_url(tmp_path)
        engine = make_engine(url)
        upgrade(engine)
        security = kafka_security_from_environment()
        registry = RegistryClient(registry_url)
        consumer: EventConsumer[UserEvent, Connection] = EventConsumer(
            KafkaSource(consumer_config(kafka_bootstrap, group), [TOPIC], security=security),
            RecordDeserializer(registry, PLAYBALL_AUTH_USER_EVENTS_V1.records, topic=TOPIC),
            QuotingHandler(refused),
            KafkaDeadLetters(kafka_bootstrap, {TOPIC: dlq}, security=security),
            ConsumerMetrics(TOPIC),
            processed=SqlProcessedEvents(engine, processed_events),
        )
        # its log, as a service's: everything the runtime logs at INFO and above
        log_file = tmp_path / "quoting-consumer.log"
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        quoting = QuotingConsumer(consumer, dlq, log_file)
        made.append((quoting, handler, registry))
        return quoting

    root = logging.getLogger()
    level = root.level
    yield make
    root.setLevel(level)
    for quoting, handler, registry in made:
        quoting.consumer.close()
        registry.close()
        root.removeHandler(handler)
        handler.close()


def letters_of(bootstrap: str, dlq: str, key: bytes) -> list[ParkedMessage]:
    admin = kafka_security_from_environment()
    return [p for p in read_parked(bootstrap, dlq, security=admin) if p.key == key]


def test_no_personal_value_reaches_a_log_or_a_command_output(
    system: RunningSystem,
    stack: StackSettings,
    kafka_bootstrap: str,
    registry_url: str,
    unique_name: str,
    quoting_consumer: Callable[[str], QuotingConsumer],
) -> None:
    username, email = secret("pii-user-"), f"{secret('pii-mail-')}@example.org"
    first_name, refused_name, last_name = secret("Name "), secret("Refused "), secret("Last ")
    poison_secret, poison_login = secret("Poison "), secret("pii-poison-")
    poison_name = poison_secret + " padded" * 50  # longer than the view's 255
    serde_names = [secret("Cut "), secret("Broken ")]
    parked_login, parked_name = secret("pii-parked-"), secret("Parked ")
    personal = [
        username,
        email,
        first_name,
        refused_name,
        last_name,
        poison_secret,
        poison_login,
        *serde_names,
        parked_login,
        parked_name,
    ]
    quoting = quoting_consumer(refused_name)
    env = {**system.env, **admin_environment(stack)}

    # 1. a user registers through the API; the relay publishes UserRegistered
    with httpx.Client(
        timeout=30, verify=trusting(str(system.tls.ca) if system.tls else None)
    ) as api:
        password = f"correct horse {uuid.uuid4().hex[:8]}"
        user = api.post(
            f"{system.auth_url}/users",
            json={
                "username": username,
                "email": email,
                "password": password,
                "display_name": first_name,
            },
        )
        assert user.status_code == 201, user.text
        user_id = uuid.UUID(user.json()["id"])
        key = str(user_id).encode()

        # 2. poison keyed by the user, in its partition: a name too long for the view, and
        # two tagged records whose bodies do not decode (cut inside the name; not UTF-8)
        with RegistryClient(registry_url) as registry:
            producer = EventProducer(kafka_bootstrap, registry, TOPIC)
            too_long = UserUpdated(
                event_id=uuid.uuid4(),
                occurred_at=now(),
                user_id=user_id,
                user_version=2,
                username=poison_login,
                display_name=poison_name,
            )
            producer.send([too_long])
            schema_id = RecordSerializer(registry, TOPIC).schema_id(UserUpdated)
            for name, cut in zip(serde_names, (True, False), strict=True):
                record = dataclasses.replace(too_long, event_id=uuid.uuid4(), display_name=name)
                encoded = record.to_avro_bytes()  # the name is its last field
                body = encoded[:-4] if cut else encoded[:-1] + b"\xff"
                producer.send_raw(key, header(schema_id) + body, headers_of(record))

        # 3. two renames: the first ends the poison run (the consumers park it), the quoting
        # consumer refuses it by its repr, and the second ends that consumer's run
        token = api.post(
            f"{system.auth_url}/token",
            data={"username": username, "password": password, "scope": "account"},
        )
        assert token.status_code == 200, token.text
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for name in (refused_name, last_name):
            renamed = api.patch(
                f"{system.auth_url}/users/me", json={"display_name": name}, headers=bearer
            )
            assert renamed.status_code == 200, renamed.text

    # 4. an outbox row the relay cannot deliver (written by "another schema version"): parked
    parked_user = uuid.uuid4()
    parked_record = UserRegistered(
        event_id=uuid.uuid4(),
        occurred_at=now(),
        user_id=parked_user,
        user_version=1,
        username=parked_login,
        display_name=parked_name,
    )
    row = new_outbox_event(
        parked_record,
        PLAYBALL_AUTH_USER_EVENTS_V1,
        aggregate_id=str(parked_user),
        aggregate_version=1,
    )
    store = open_outbox_store(system.auth_database_url)
    try:
        insert_events(store, [dataclasses.replace(row, schema_fingerprint="f" * 64)])
        wait_until(
            "the relay parking the foreign row",
            lambda: any(p.event_id == row.event_id for p in store.status().parked),
        )
    finally:
        store.engine.dispose()

    # the quoting consumer runs until it parked its four letters, the system's its three
    quoting_kinds: list[str] = []

    def quoting_done() -> bool:
        report = quoting.consumer.run_once()
        quoting_kinds.extend(d.kind for d in report.dead_lettered if d.message.key == key)
        return sorted(quoting_kinds) == ["apply_failed", "invalid", "undecodable", "undecodable"]

    wait_until("the quoting consumer parking the run", quoting_done)
    assert len(letters_of(kafka_bootstrap, quoting.dlq, key)) == len(quoting_kinds)
    shared_dlq = dead_letter_topic(TOPIC)

    def system_parked() -> list[str]:
        kinds = sorted(p.kind for p in letters_of(kafka_bootstrap, shared_dlq, key))
        # other systems on the shared stack may park the same poison too: at least ours
        return kinds if kinds.count("invalid") >= 1 and kinds.count("undecodable") >= 2 else []

    kinds = wait_until("the groups consumer parking the poison", system_parked, interval=1.0)
    assert set(kinds) == {"invalid", "undecodable"}

    # every command that shows what was parked
    private = {**env, "PLAYBALL_GROUPS_TOPIC": unique_name}
    outputs = {
        "groups dlq list": playball(["groups", "dlq", "list"], env),
        "groups dlq list --json": playball(["groups", "dlq", "list", "--json"], env),
        "groups dlq list (quoting)": playball(["groups", "dlq", "list"], private),
        "groups dlq list --json (quoting)": playball(["groups", "dlq", "list", "--json"], private),
        "auth outbox status": playball(["auth", "outbox", "status"], env),
        "auth outbox status --json": playball(["auth", "outbox", "status", "--json"], env),
    }
    # ...show the paths were taken: the reasons are there, by field and size, not by value
    listed = outputs["groups dlq list"] + outputs["groups dlq list (quoting)"]
    assert "display_name of" in listed and "exceeds the view's 255" in listed
    assert "MalformedBodyError" in listed and "UnicodeDecodeError" in listed
    assert "apply failed: RuntimeError: refused UserUpdated(" in listed
    assert "display_name=<PII>" in listed
    assert "another version of playball.auth.v1.UserRegistered" in outputs["auth outbox status"]

    logs = {
        str(path): path.read_text(errors="replace")
        for path in [
            *system.supervisor.root.rglob("*.log"),
            quoting.log_file,
            *Stack(stack).logs().values(),
        ]
        if path.is_file()
    }
    assert "refusing UserUpdated(" in logs[str(quoting.log_file)]
    texts = {**outputs, **logs}

    # the scan finds what is there: a planted value, and the parked row's user id (pseudonymous,
    # logged on purpose) in the relay's log and in the status output
    assert leaks({"planted": f"reason: display name {first_name!r}"}, personal) == [
        ("planted", first_name)
    ]
    found_id = {name for name, _ in leaks(texts, [str(parked_user)])}
    assert "auth outbox status" in found_id
    assert any(name.endswith("auth-relay.log") for name in found_id), sorted(found_id)

    assert leaks(texts, personal) == []
