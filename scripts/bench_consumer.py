"""Groups consumer apply throughput, next to a raw consume-and-decode loop, in one run.

Run: UV_NO_SYNC=1 python3 -m uv run python scripts/bench_consumer.py [--events N] [--users U]

Against the running stack (PLAYBALL_* / DATABASE_URL as for the services). It creates its
own topic (6 partitions) and subjects, produces a backlog of N events over U users
(UserRegistered, then UserUpdated versions, users interleaved), then reads the whole
backlog twice, each time with a fresh consumer group:

(a) raw: ``consume(1000)`` + ``RecordDeserializer.deserialize`` per message, nothing else
(b) apply: the groups consumer as ``playball groups consume`` runs it (decode, validate,
    one PostgreSQL transaction per poll with the processed-events rows, offset commit),
    into a fresh database

Time runs from the first message received to the last handled, so group joins are not
counted. Targets: (b) >= 10,000 events/s and (b)/(a) >= 0.3. The topic and the database
are removed afterwards.
"""

import argparse
import datetime as dt
import json
import statistics
import time
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from playball_core.registry import RegistryClient
from playball_events.contracts import UserRegistered, UserUpdated
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_events.gc_tuning import tune_for_service
from playball_events.kafka_errors_kafka import secured_config
from playball_events.kafka_security import KafkaSecurity, kafka_security
from playball_events.serde import RecordDeserializer, RecordSerializer
from playball_events.settings import RuntimeSettings, load_settings, with_database
from playball_groups.adapters.database import create_database_if_missing, make_engine
from playball_groups.adapters.migrate import upgrade
from playball_groups.entrypoints.bootstrap import build_consumer
from playball_groups.settings import GroupsSettings
from sqlalchemy import text

TARGET_RATE = 10_000
TARGET_RATIO = 0.3


def produce_backlog(
    bootstrap: str,
    registry: RegistryClient,
    topic: str,
    events: int,
    users: int,
    *,
    security: KafkaSecurity,
) -> None:
    serializer = RecordSerializer(registry, topic)
    producer = Producer(
        secured_config(
            {
                "bootstrap.servers": bootstrap,
                "enable.idempotence": True,
                "linger.ms": 20,
                "compression.type": "lz4",
            },
            security,
        )
    )
    ids = [uuid.uuid4() for _ in range(users)]
    now = dt.datetime.now(dt.UTC)
    for n in range(events):
        user_id = ids[n % users]
        version = n // users + 1
        cls = UserRegistered if version == 1 else UserUpdated
        record = cls(
            event_id=uuid.uuid4(),
            occurred_at=now,
            user_id=user_id,
            user_version=version,
            username=f"user{n % users}",
            display_name=f"Player {n % users} v{version}",
        )
        producer.produce(
            topic,
            key=str(user_id).encode(),
            value=serializer.serialize(record),
            headers=[("event_id", str(record.event_id).encode())],
        )
        producer.poll(0)
    assert producer.flush(60) == 0


def raw_loop(
    bootstrap: str,
    registry: RegistryClient,
    topic: str,
    events: int,
    group: str,
    *,
    security: KafkaSecurity,
) -> float:
    decoder = RecordDeserializer(registry, PLAYBALL_AUTH_USER_EVENTS_V1.records)
    consumer = Consumer(
        secured_config(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 50,
                "queued.min.messages": 10000,
            },
            security,
        )
    )
    consumer.subscribe([topic])
    seen = 0
    started = 0.0
    try:
        while seen < events:
            batch = consumer.consume(1000, 1.0)
            if batch and not started:
                started = time.perf_counter()
            for message in batch:
                if message.error() is None:
                    decoder.deserialize(message.value() or b"")
                    seen += 1
        return seen / (time.perf_counter() - started)
    finally:
        consumer.close()


def apply_loop(settings: GroupsSettings, events: int) -> tuple[float, int]:
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    with engine.begin() as connection:  # every round starts from an empty view
        connection.execute(text("TRUNCATE memberships, groups, known_users, processed_events"))
    consumer = build_consumer(settings, engine=engine)
    handled = applied = 0
    started = 0.0
    try:
        while handled < events:
            report = consumer.run_once()
            if report.retried:
                continue
            if report.messages and not started:
                started = time.perf_counter()
            handled += report.messages
            applied += report.applied
        rate = handled / (time.perf_counter() - started)
    finally:
        consumer.close()
    with engine.connect() as connection:
        rows = connection.scalar(text("SELECT count(*) FROM processed_events"))
    engine.dispose()
    assert rows == events, f"{rows} processed rows for {events} events"
    return rate, applied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=GroupsSettings.model_fields["groups_batch_size"].default,
        help="messages per poll (default: the service's, PLAYBALL_GROUPS_BATCH_SIZE)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternate raw and apply this many times (the machine is shared: best of each)",
    )
    args = parser.parse_args()

    runtime = load_settings(RuntimeSettings)
    topic = f"bench-consumer-{uuid.uuid4().hex[:8]}"
    database = f"playball_groups_bench_{uuid.uuid4().hex[:8]}"
    security = kafka_security(runtime)
    admin = AdminClient(secured_config({"bootstrap.servers": runtime.kafka_bootstrap}, security))
    admin.create_topics([NewTopic(topic, 6, 1), NewTopic(f"{topic}.dlq", 1, 1)])[topic].result(30)
    database_url = with_database(runtime.database_url, database)
    with runtime.registry_client() as registry:
        serializer = RecordSerializer(registry, topic)
        for cls in PLAYBALL_AUTH_USER_EVENTS_V1.records:
            registry.register(serializer.subject(cls), json.dumps(cls.avro_schema()))
        try:
            t0 = time.perf_counter()
            produce_backlog(
                runtime.kafka_bootstrap,
                registry,
                topic,
                args.events,
                args.users,
                security=security,
            )
            print(
                f"backlog: {args.events} events over {args.users} users on {topic} "
                f"({time.perf_counter() - t0:.1f} s to produce)"
            )
            create_database_if_missing(database_url)
            tune_for_service()  # as `playball groups consume` does before its loop
            raws: list[float] = []
            applies: list[float] = []
            for round_ in range(args.rounds):
                raws.append(
                    raw_loop(
                        runtime.kafka_bootstrap,
                        registry,
                        topic,
                        args.events,
                        f"{topic}-raw{round_}",
                        security=security,
                    )
                )
                settings = GroupsSettings(
                    kafka_bootstrap=runtime.kafka_bootstrap,
                    schema_registry_url=runtime.schema_registry_url,
                    database_url=runtime.database_url,
                    groups_database_url=database_url,
                    groups_topic=topic,
                    groups_consumer_group=f"{topic}-apply{round_}",
                    groups_batch_size=args.batch_size,
                )
                rate, applied = apply_loop(settings, args.events)
                applies.append(rate)
                print(f"round {round_ + 1}: raw {raws[-1]:,.0f} ev/s, apply {rate:,.0f} ev/s")
        finally:
            admin.delete_topics([topic, f"{topic}.dlq"])
            drop = make_engine(
                with_database(runtime.database_url, "postgres"), isolation_level="AUTOCOMMIT"
            )
            with drop.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            drop.dispose()
    raw, rate = max(raws), max(applies)
    ratio = rate / raw
    median_ratio = statistics.median(a / r for a, r in zip(applies, raws, strict=True))
    print()
    print("| loop | events/s (best of rounds) | target |")
    print("|---|---:|---|")
    print(f"| (a) raw consume + decode | {raw:,.0f} | |")
    verdict = "ok" if rate >= TARGET_RATE else "MISSED"
    print(
        f"| (b) groups consumer apply (PostgreSQL, processed rows, batch {args.batch_size}) "
        f"| {rate:,.0f} | >= {TARGET_RATE:,} {verdict} |"
    )
    verdict = "ok" if ratio >= TARGET_RATIO else "MISSED"
    print(f"| (b)/(a), best / best | {ratio:.2f} | >= {TARGET_RATIO} {verdict} |")
    print(f"| (b)/(a), median of the per-round ratios | {median_ratio:.2f} | |")
    print(f"\napplied {applied} of {args.events} in the last round (the rest: stale or duplicate)")


if __name__ == "__main__":
    main()
