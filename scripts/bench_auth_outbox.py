"""What the transactional outbox costs an API write, on SQLite and PostgreSQL.

Run: uv run python scripts/bench_auth_outbox.py [--updates N] [--rounds R] [--database-url URL]

Times the same use case, ``update_profile`` changing a user's display name (one
transaction: read, UPDATE with the version check, commit), with and without the outbox
writer installed on the sessions. With it, each update also builds the UserUpdated
record, encodes its Avro payload and INSERTs the outbox row (on PostgreSQL the table's
trigger adds the relay's NOTIFY to the commit). Rounds interleave the variants so machine
noise hits them alike.
Also prints the cost in Python alone of one such change: the domain recording the
UserUpdated record, and its outbox entry (Avro body included).

PostgreSQL: a fresh database on the server of ``--database-url`` (default: the runtime
settings' DATABASE_URL, i.e. the local stack), dropped at the end.
"""

import argparse
import itertools
import statistics
import tempfile
import time
import timeit
import uuid
from datetime import UTC, datetime
from pathlib import Path

from playball_auth.adapters.database_sql import (
    create_database_if_missing,
    make_engine,
    migrate,
)
from playball_auth.adapters.orm_sql import map_user
from playball_auth.adapters.unit_of_work_sql import SqlUnitOfWork
from playball_auth.adapters.user_events_sql import install, outbox_event
from playball_auth.domain.model import User
from playball_auth.service_layer import handlers
from playball_auth.service_layer.ports import PasswordHasher
from playball_events.settings import RuntimeSettings, with_database
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker


class PlainHasher(PasswordHasher):
    """No argon2 here: its 50+ ms would drown what is measured."""

    def hash(self, password: str) -> str:
        return password

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == password

    def needs_rehash(self, password_hash: str) -> bool:  # noqa: ARG002 - the port
        return False


def per_update_ms(factory: "sessionmaker[Session]", user_id: uuid.UUID, updates: int) -> float:
    uow = lambda: SqlUnitOfWork(factory)  # noqa: E731
    hasher = PlainHasher()
    started = time.perf_counter()
    for i in range(updates):
        changes = handlers.ProfileChanges(display_name=f"name {i} {uuid.uuid4().hex[:6]}")
        handlers.update_profile(uow, hasher, user_id, changes)
    return (time.perf_counter() - started) * 1000 / updates


def run(label: str, engine: Engine, updates: int, rounds: int) -> None:
    map_user()
    migrate(engine)
    with_outbox = sessionmaker(engine, expire_on_commit=False)
    install(with_outbox)
    without = sessionmaker(engine, expire_on_commit=False)
    user = handlers.register_user(
        lambda: SqlUnitOfWork(with_outbox),
        PlainHasher(),
        username=f"bench{uuid.uuid4().hex[:8]}",
        email=f"{uuid.uuid4().hex[:8]}@example.org",
        password="bench password 1",  # noqa: S106 - a benchmark user
        display_name="bench",
    )
    per_update_ms(with_outbox, user.id, 20)  # warm up pools and caches
    per_update_ms(without, user.id, 20)
    variants = {"without": without, "with": with_outbox}
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, factory in variants.items():
            timings[name].append(per_update_ms(factory, user.id, updates))
    b, a = (statistics.median(timings[name]) for name in variants)
    print(
        f"{label:<10} {b:>10.3f} {a:>10.3f} {a - b:>8.3f} {a / b:>7.2f}"
        f"   (median of {rounds} rounds x {updates} updates)"
    )


def entry_cost_us(number: int) -> float:
    user = User.register(
        username="alice",
        email="a@example.org",
        password_hash="x",  # noqa: S106 - never checked
        display_name="Alice",
        now=datetime.now(UTC),
    )
    now = datetime.now(UTC)
    names = itertools.cycle(("Alicia", "Alice"))  # each call a real change

    def call() -> object:
        user.change_display_name(next(names), now)
        return outbox_event(user.events.pop())

    return min(timeit.repeat(call, number=number, repeat=5)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default=RuntimeSettings().database_url)
    args = parser.parse_args()

    print(f"recording one change and its outbox entry: {entry_cost_us(20000):.1f} µs")
    header = ("database", "no outbox", "outbox", "cost", "ratio")
    print("{:<10} {:>10} {:>10} {:>8} {:>7}  ms/update".format(*header))
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            run("sqlite", engine, args.updates, args.rounds)
        finally:
            engine.dispose()

    name = f"playball_auth_bench_{uuid.uuid4().hex[:8]}"
    url = with_database(args.database_url, name)
    create_database_if_missing(url)
    engine = make_engine(url)
    try:
        run("postgresql", engine, args.updates, args.rounds)
    finally:
        engine.dispose()
        admin = create_engine(
            with_database(args.database_url, "postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
