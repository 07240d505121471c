"""Groups consumer apply throughput, next to a raw consume-and-decode loop, secured beside
PLAINTEXT, in one run.

Run: UV_NO_SYNC=1 python3 -m uv run python scripts/bench_consumer.py [--events N] [--users U]
     [--repeats 3]

Every figure is measured twice (see scripts/bench_support.py), median of --repeats rounds:
on the secured stack's broker (SASL_SSL, SCRAM-SHA-512, authorizer), both loops as
``groups-consumer``, with ACLs on the scratch topic and the rounds' groups granted by
``playball-admin`` and revoked at the end; and on a private PLAINTEXT broker the script
starts (same heap and JIT as the stack's), killed at the end. Both share the stack's
registry and PostgreSQL. On each broker ``playball-admin`` creates the same topic (6
partitions) and produces a backlog of N events over U users (UserRegistered, then
UserUpdated versions, users interleaved); each round then reads the whole backlog twice
per broker (alternating which broker goes first), each time with a fresh consumer group:

(a) raw: ``consume(1000)`` + ``RecordDeserializer.deserialize`` per message, nothing else
(b) apply: the groups consumer as ``playball groups consume`` runs it (decode, validate,
    one PostgreSQL transaction per poll with the processed-events rows, offset commit),
    into a fresh database

Time runs from the first message received to the last handled, so group joins are not
counted; one unmeasured raw pass per broker comes first (the private broker starts with a
cold JIT). Targets: secured (b) >= 10,000 events/s and secured (b)/(a) >= 0.3, printed as
met or NOT MET (a miss does not fail the run: the machine is shared). The topics, groups
and database are removed afterwards.
"""

import argparse
import datetime as dt
import json
import statistics
import sys
import time
import uuid
from contextlib import ExitStack
from typing import TYPE_CHECKING

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.cimpl import NewTopic
from playball_core.local_stack import KAFKA_ADMIN, KAFKA_CONSUMER
from playball_core.registry import RegistryClient
from playball_events.contracts import UserRegistered, UserUpdated
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_events.gc_tuning import tune_for_service
from playball_events.serde import RecordDeserializer, RecordSerializer
from playball_events.settings import RuntimeSettings, load_settings, with_database
from playball_groups.adapters.database import create_database_if_missing, make_engine
from playball_groups.adapters.migrate import upgrade
from playball_groups.entrypoints.bootstrap import build_consumer
from playball_groups.settings import GroupsSettings
from playball_stack.settings import StackSettings
from sqlalchemy import text

if TYPE_CHECKING:  # mypy knows this directory as the namespace package `scripts`
    from scripts import bench_support as bench
else:
    import bench_support as bench

TARGET_RATE = 10_000
TARGET_RATIO = 0.3


def produce_backlog(
    cluster: bench.Cluster, registry: RegistryClient, topic: str, events: int, users: int
) -> None:
    """The backlog, as ``playball-admin`` (setup, not measured)."""
    serializer = RecordSerializer(registry, topic)
    producer = Producer(
        cluster.config(
            KAFKA_ADMIN,
            **{"enable.idempotence": True, "linger.ms": 20, "compression.type": "lz4"},
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
    cluster: bench.Cluster, registry: RegistryClient, topic: str, events: int, group: str
) -> float:
    """Consume and decode, as ``groups-consumer``; nothing else."""
    decoder = RecordDeserializer(registry, PLAYBALL_AUTH_USER_EVENTS_V1.records)
    consumer = Consumer(
        cluster.config(
            KAFKA_CONSUMER,
            **{
                "group.id": group,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 50,
                "queued.min.messages": 10000,
            },
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


def groups_settings(
    cluster: bench.Cluster,
    runtime: RuntimeSettings,
    server_url: str,
    database_url: str,
    *,
    topic: str,
    group: str,
    batch_size: int,
) -> GroupsSettings:
    """The consumer's settings, as ``groups-consumer`` on ``cluster``."""
    return GroupsSettings(
        **cluster.fields(KAFKA_CONSUMER),
        schema_registry_url=runtime.schema_registry_url,
        database_url=server_url,
        groups_database_url=database_url,
        groups_topic=topic,
        groups_consumer_group=group,
        groups_batch_size=batch_size,
    )


def create_topic(cluster: bench.Cluster, topic: str) -> None:
    admin = cluster.admin()
    futures = admin.create_topics([NewTopic(topic, 6, 1), NewTopic(f"{topic}.dlq", 1, 1)])
    for future in futures.values():
        future.result(30)


def delete_topic(cluster: bench.Cluster, topic: str) -> None:
    admin = cluster.admin()  # held: its futures fail once it is destroyed
    try:
        for future in admin.delete_topics([topic, f"{topic}.dlq"]).values():
            future.result(30)
    except KafkaException as exc:  # cleanup must not hide the figures, or an earlier error
        print(f"bench: could not delete {topic}: {exc}", file=sys.stderr)


def main() -> None:  # noqa: PLR0915 - one linear script
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
        "--repeats",
        "--rounds",
        type=int,
        default=3,
        help="rounds of raw then apply on each broker (the machine is shared: median)",
    )
    args = parser.parse_args()

    runtime = load_settings(RuntimeSettings)  # the registry's address
    stack = StackSettings()
    secured = bench.secured_stack(stack)
    topic = f"bench-consumer-{uuid.uuid4().hex[:8]}"
    groups = [f"{topic}-warm-up"] + [
        f"{topic}-{kind}{round_}" for round_ in range(args.repeats) for kind in ("raw", "apply")
    ]
    server_url = stack.effective_database_url
    database = f"playball_groups_bench_{uuid.uuid4().hex[:8]}"
    database_url = with_database(server_url, database)
    rates: dict[str, dict[str, list[float]]] = {}
    applied = 0
    with (
        bench.plaintext_broker(stack) as plaintext,
        runtime.registry_client() as registry,
    ):
        clusters = (secured, plaintext)
        serializer = RecordSerializer(registry, topic)
        for cls in PLAYBALL_AUTH_USER_EVENTS_V1.records:
            registry.register(serializer.subject(cls), json.dumps(cls.avro_schema()))
        try:
            with ExitStack() as acls:
                for cluster in clusters:
                    create_topic(cluster, topic)
                    acls.enter_context(bench.scratch_acls(cluster, topic, groups))
                    t0 = time.perf_counter()
                    produce_backlog(cluster, registry, topic, args.events, args.users)
                    print(
                        f"backlog: {args.events} events over {args.users} users on {topic}, "
                        f"{cluster.label} ({time.perf_counter() - t0:.1f} s to produce)"
                    )
                create_database_if_missing(database_url)
                tune_for_service()  # as `playball groups consume` does before its loop
                for cluster in clusters:  # unmeasured
                    raw_loop(cluster, registry, topic, args.events, groups[0])
                rates = {c.label: {"raw": [], "apply": []} for c in clusters}
                for round_ in range(args.repeats):
                    # alternate which broker goes first
                    for cluster in clusters if round_ % 2 == 0 else list(reversed(clusters)):
                        mine = rates[cluster.label]
                        mine["raw"].append(
                            raw_loop(cluster, registry, topic, args.events, f"{topic}-raw{round_}")
                        )
                        settings = groups_settings(
                            cluster,
                            runtime,
                            server_url,
                            database_url,
                            topic=topic,
                            group=f"{topic}-apply{round_}",
                            batch_size=args.batch_size,
                        )
                        rate, applied = apply_loop(settings, args.events)
                        mine["apply"].append(rate)
                        print(
                            f"round {round_ + 1} {cluster.label:<9}: raw {mine['raw'][-1]:,.0f}"
                            f" ev/s, apply {rate:,.0f} ev/s",
                            file=sys.stderr,
                        )
        finally:
            bench.delete_groups(secured, groups)
            delete_topic(secured, topic)
            drop = make_engine(with_database(server_url, "postgres"), isolation_level="AUTOCOMMIT")
            with drop.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            drop.dispose()

    raw = {label: statistics.median(r["raw"]) for label, r in rates.items()}
    apply = {label: statistics.median(r["apply"]) for label, r in rates.items()}
    ratio = {label: apply[label] / raw[label] for label in rates}
    per_round = {
        label: statistics.median([a / b for a, b in zip(r["apply"], r["raw"], strict=True)])
        for label, r in rates.items()
    }
    sec, pln = "secured", "PLAINTEXT"
    print(f"\nevents/s, median of {args.repeats} rounds per broker")
    print()
    print("| loop | secured | PLAINTEXT | secured / PLAINTEXT | target |")
    print("|---|---:|---:|---:|---|")
    print(
        f"| (a) raw consume + decode | {raw[sec]:,.0f} | {raw[pln]:,.0f} "
        f"| {raw[sec] / raw[pln]:.2f} | |"
    )
    print(
        f"| (b) groups consumer apply (PostgreSQL, processed rows, batch {args.batch_size}) "
        f"| {apply[sec]:,.0f} | {apply[pln]:,.0f} | {apply[sec] / apply[pln]:.2f} "
        f"| secured >= {TARGET_RATE:,}: {bench.verdict(apply[sec] >= TARGET_RATE)} |"
    )
    print(
        f"| (b)/(a), medians | {ratio[sec]:.2f} | {ratio[pln]:.2f} | "
        f"| secured >= {TARGET_RATIO}: {bench.verdict(ratio[sec] >= TARGET_RATIO)} |"
    )
    print(
        f"| (b)/(a), median of the per-round ratios | {per_round[sec]:.2f} "
        f"| {per_round[pln]:.2f} | | |"
    )
    print(f"\napplied {applied} of {args.events} in the last apply (the rest: stale or duplicate)")


if __name__ == "__main__":
    main()
