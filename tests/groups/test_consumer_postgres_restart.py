"""The groups consumer rides out a PostgreSQL restart (fault matrix R13, consumer side).

The consumer's engine does not ping connections before each batch: a connection the
restart killed fails the batch's first statement instead, the batch is rewound and
retried after a backoff, and the retry gets a fresh connection. This test holds that on
a private server that is really stopped and started again.
"""

import time
import uuid
from collections.abc import Iterator

import pytest
from playball_core.registry import RegistryClient
from playball_events.consumer.loop import BatchReport
from playball_groups.adapters.database import make_engine
from playball_groups.adapters.migrate import upgrade
from playball_groups.adapters.tables import processed_events
from playball_groups.entrypoints.bootstrap import build_consumer, engine_for
from playball_stack.settings import StackSettings
from sqlalchemy import func, select
from support.private_postgres import private_postgres
from support.user_events import EventProducer, create_event_topics, registered, updated

from groups.consuming import drain, settings_for, view_row

pytestmark = [pytest.mark.stack, pytest.mark.slow]

USERS = 40
DOWN_DEADLINE = 60.0


@pytest.fixture
def topic(kafka_bootstrap: str, registry_url: str, unique_name: str) -> Iterator[str]:
    with RegistryClient(registry_url) as registry:
        create_event_topics(kafka_bootstrap, registry, unique_name)
        yield unique_name


def test_a_postgres_restart_under_the_consumer_is_retried_and_loses_nothing(
    stack: StackSettings, kafka_bootstrap: str, registry_url: str, topic: str
) -> None:
    users = [uuid.uuid4() for _ in range(USERS)]
    with private_postgres(stack) as server, RegistryClient(registry_url) as registry:
        engine = make_engine(server.url)
        upgrade(engine)
        settings = settings_for(topic, kafka_bootstrap, registry_url, server.url)
        consumer_engine = engine_for(settings, ping=False)  # as build_consumer makes it
        producer = EventProducer(kafka_bootstrap, registry, topic)
        consumer = build_consumer(settings, engine=consumer_engine)
        try:
            producer.send(registered(u, 1, f"User {n}") for n, u in enumerate(users))
            producer.flush()
            drain(consumer, USERS)

            server.stop()  # every pooled connection of the consumer dies with it
            producer.send(updated(u, 2, f"User {n} v2") for n, u in enumerate(users))
            producer.flush()
            while_down: list[BatchReport] = []
            deadline = time.monotonic() + DOWN_DEADLINE
            while not any(r.retried for r in while_down):
                assert time.monotonic() < deadline, f"no batch was retried: {while_down}"
                while_down.append(consumer.run_once())  # must not raise
            assert not any(r.applied for r in while_down), "applied while the database was down"

            server.start()
            drain(consumer, USERS)  # the second wave, once, on fresh connections

            for n, user in enumerate(users):
                assert view_row(engine, user) == (2, False, f"User {n} v2")
            with engine.connect() as connection:
                processed = connection.execute(
                    select(func.count()).select_from(processed_events)
                ).scalar_one()
            assert processed == 2 * USERS  # each event recorded once: none lost, none twice
        finally:
            consumer.close()
            consumer_engine.dispose()
            engine.dispose()
