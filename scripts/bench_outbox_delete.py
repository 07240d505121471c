"""Keep the outbox's rows until they are sent, or delete each in its inserting transaction?
Both measured for the log-based relay, in one run (issue 21: "The rows stay until sent
and cleaned, unless deleting them in the inserting transaction measures more than 20%
faster").

Run: UV_NO_SYNC=1 python3 -m uv run python scripts/bench_outbox_delete.py [--events 50000]
     [--users 10000] [--repeats 3] [--writes 1000] [--threads 8]

On the secured stack (the relay connecting as ``auth-relay``), a scratch database and a
scratch topic, both removed at the end whatever happens:

1. **The relay's drain**, events/s from the stream opened to the last event acked: a
   backlog of --events rows over --users users, written after the slot was created,
   5,000 a transaction (as ``scripts/bench_relay.py``'s section 1), read from the slot
   by ``WalOutboxRelay``:

   (w) the rows stay (as shipped): the relay checks each batch's rows against the table
       (sent already? held?) and deletes them once acked, one DELETE per batch on its
       recorder thread;
   (d) each row deleted in its inserting transaction: the log still carries every
       insert, but the table never shows the row, so the relay has nothing to check and
       nothing to delete (its store answers "deliverable" and only counts). That is all
       such a relay would skip in a clean drain; what it would have to add (rows of
       their own for parked and deferred events, a backlog read from the slot instead of
       the table) is not exercised by a drain, so (d) is an upper bound of its gain.

   Beside them, the polling relay's drain of the same backlog (``bench_relay.py``'s
   figure), the reference of the issue's target for the log-based relay (1.5x).
   Rounds alternate the order, after one unmeasured round of each.
2. **The writer's cost**: one-row transactions through the services' outbox writer
   (``write_outbox_events``, the statement the auth service's flush runs), durable
   commits, --writes per writer per round, by one writer and by --threads at once:
   the INSERT alone, beside the INSERT and a DELETE of that row. No relay runs
   meanwhile. Rounds alternate.

Printed: each figure beside the other, (d) / (w), and the decision by the issue's rule.
Needs the stack (`playball stack up`).
"""

import argparse
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import psycopg
from playball_events.gc_tuning import RELAY_YOUNG_GENERATION, tune_for_service
from playball_events.outbox.model import NewOutboxEvent
from playball_events.outbox.ports import OutboxEvent
from playball_events.outbox.relay import RelayConfig
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.outbox.store_sql import SqlOutboxStore
from playball_events.outbox.writer_sql import write_outbox_events
from playball_events.settings import RuntimeSettings, load_settings
from playball_stack.settings import StackSettings
from sqlalchemy import delete

if TYPE_CHECKING:  # mypy knows this directory as the namespace package `scripts`
    from scripts import bench_relay
    from scripts import bench_support as bench
else:
    import bench_relay
    import bench_support as bench

THRESHOLD = 1.2  # the rule: delete at insert only if it measures 20% faster
REFILL_TRANSACTION = 5000


class UncheckedStore(bench_relay.DrainingStore):
    """The relay's store over a table whose rows were deleted at insert: every row the
    log brings is deliverable (there is no row to look up), and nothing is removed or
    marked (there is no row left); the drained rows are only counted."""

    def stream_verdicts(
        self,
        seqs: Sequence[int],
        xids: Sequence[int],  # noqa: ARG002 - no row to look up, no transaction to see
    ) -> tuple[set[int], set[str]]:
        with self.split.timed():
            return set(seqs), set()

    def mark_sent(self, events: Sequence[OutboxEvent]) -> None:
        self.count_marked(events)

    def remove_streamed(self, events: Sequence[OutboxEvent]) -> None:
        self.count_marked(events)


def refill_deleted(url: str, store: SqlOutboxStore, rows: Sequence[NewOutboxEvent]) -> str:
    """An empty outbox behind a fresh slot, then ``rows`` inserted and deleted again in each
    transaction: in the log, not in the table. The slot's name."""
    slot = bench_relay.refill(url, store, [], slot_first=True)
    assert slot is not None
    for start in range(0, len(rows), REFILL_TRANSACTION):
        with store.engine.begin() as conn:
            write_outbox_events(conn, store.table, rows[start : start + REFILL_TRANSACTION])
            conn.execute(delete(store.table))  # only this transaction's rows: it was empty
    return slot


DRAINS = {
    "poll": "the polling relay (reference)",
    "kept": "(w) log-based, rows kept (as shipped)",
    "deleted": "(d) log-based, rows deleted at insert",
}


def drain(
    cluster: bench.Cluster,
    settings: RuntimeSettings,
    url: str,
    topic: str,
    *,
    store: SqlOutboxStore,
    rows: Sequence[NewOutboxEvent],
    kind: str,
) -> float:
    """One drain of ``rows`` by the relay ``kind`` names (a key of :data:`DRAINS`):
    events/s."""
    if kind == "poll":
        bench_relay.refill(url, store, rows)
        rate, delivered = bench_relay.relay_throughput(
            cluster, settings, url, topic, RelayConfig().batch_size, expected=len(rows)
        )
        assert delivered == len(rows), (delivered, len(rows))
        return rate
    deleted = kind == "deleted"
    run = bench_relay.wal_drain(
        cluster,
        settings,
        url,
        topic,
        store=store,
        rows=rows,
        batch=REFILL_TRANSACTION,
        fill=refill_deleted if deleted else None,
        store_type=UncheckedStore if deleted else None,
    )
    assert run.delivered == len(rows), (run.delivered, len(rows))
    return run.rate


WRITER_MODES = {
    "insert": "INSERT",
    "statement": "INSERT, DELETE",
    "trigger": "INSERT, trigger DELETE",
}
_TRIGGER = "outbox_bench_delete_at_insert"


def delete_trigger(url: str, *, on: bool) -> None:
    """A row trigger deleting each outbox row right after its insert: the DELETE without a
    statement (and a round trip) of the writer's own."""
    with psycopg.connect(**bench_relay.conninfo(url), autocommit=True) as conn:
        if on:
            conn.execute(
                f"CREATE FUNCTION {_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ "  # noqa: S608
                "BEGIN DELETE FROM outbox WHERE seq = NEW.seq; RETURN NULL; END $$"
            )
            conn.execute(
                f"CREATE TRIGGER {_TRIGGER} AFTER INSERT ON outbox "
                f"FOR EACH ROW EXECUTE FUNCTION {_TRIGGER}()"
            )
        else:
            conn.execute(f"DROP TRIGGER IF EXISTS {_TRIGGER} ON outbox")
            conn.execute(f"DROP FUNCTION IF EXISTS {_TRIGGER}()")


def one_row_transactions(store: SqlOutboxStore, rows: Sequence[NewOutboxEvent], mode: str) -> None:
    table = store.table
    with store.engine.connect() as conn:
        for row in rows:
            with conn.begin():
                write_outbox_events(conn, table, [row])
                if mode == "statement":
                    conn.execute(delete(table).where(table.c.event_id == row.event_id))


def writes_per_second(
    url: str,
    store: SqlOutboxStore,
    make_rows: Callable[[int], list[NewOutboxEvent]],
    *,
    writers: int,
    writes: int,
    mode: str,
) -> float:
    """Transactions/s of ``writers`` threads, each committing ``writes`` one-row
    transactions as ``mode`` says (a key of :data:`WRITER_MODES`)."""
    batches = [make_rows(writes) for _ in range(writers)]
    threads = [
        threading.Thread(target=one_row_transactions, args=(store, mine, mode)) for mine in batches
    ]
    if mode == "trigger":
        delete_trigger(url, on=True)
    try:
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return writers * writes / (time.perf_counter() - started)
    finally:
        if mode == "trigger":
            delete_trigger(url, on=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3, help="measured rounds (median)")
    parser.add_argument("--writes", type=int, default=1000, help="transactions per writer")
    parser.add_argument("--threads", type=int, default=8, help="writers at once")
    args = parser.parse_args()
    settings = load_settings(RuntimeSettings)  # the registry's address
    stack = StackSettings()
    cluster = bench.secured_stack(stack)

    drains: dict[str, list[float]] = {kind: [] for kind in DRAINS}
    written: dict[tuple[int, str], list[float]] = {}
    with (
        bench_relay.scratch_database(stack.effective_database_url) as url,
        # the ACLs come per consumer group; this one never joins: the relay's are wanted
        bench_relay.scratch_topic(
            [cluster], settings, [f"bench-delete-{uuid.uuid4().hex[:8]}"]
        ) as topic,
    ):
        store = open_outbox_store(url)
        store.create_table()
        rows = bench_relay.backlog(topic, args.events, args.users)
        # as the relay process does after start-up (and bench_relay.py before its drains):
        # here it also keeps the collector off the backlog this process holds
        tune_for_service(RELAY_YOUNG_GENERATION)
        print(f"backlog: {len(rows):,} events over {args.users:,} users", file=sys.stderr)

        def make_rows(count: int) -> list[NewOutboxEvent]:
            return [bench_relay.event(topic, uuid.uuid4(), 1) for _ in range(count)]

        try:
            for kind in DRAINS:  # unmeasured: connections, caches, the broker
                drain(cluster, settings, url, topic, store=store, rows=rows, kind=kind)
            for round_ in range(args.repeats):
                kinds = list(DRAINS) if round_ % 2 == 0 else list(reversed(DRAINS))
                for kind in kinds:
                    drains[kind].append(
                        drain(cluster, settings, url, topic, store=store, rows=rows, kind=kind)
                    )
                print(
                    f"   round {round_ + 1}  "
                    + "  ".join(f"{kind} {drains[kind][-1]:>8,.0f}" for kind in DRAINS)
                    + " ev/s",
                    file=sys.stderr,
                )
                modes = list(WRITER_MODES) if round_ % 2 == 0 else list(reversed(WRITER_MODES))
                for writers in (1, args.threads):
                    for mode in modes:
                        rate = writes_per_second(
                            url, store, make_rows, writers=writers, writes=args.writes, mode=mode
                        )
                        written.setdefault((writers, mode), []).append(rate)
        finally:
            store.engine.dispose()

    drained = {kind: statistics.median(found) for kind, found in drains.items()}
    print(
        f"\n1. the relays' drains, {len(rows):,} events over {args.users:,} users, secured, "
        f"median of {args.repeats} (ev/s)"
    )
    for kind, label in DRAINS.items():
        print(f"   {label:42}{drained[kind]:>10,.0f}")
    for label, over, under in (
        ("(d) / (w)", "deleted", "kept"),
        ("(w) / the polling relay", "kept", "poll"),
        ("(d) / the polling relay", "deleted", "poll"),
    ):
        rounds = ", ".join(f"{o / u:.2f}" for o, u in zip(drains[over], drains[under], strict=True))
        print(f"   {label:42}{drained[over] / drained[under]:>10.2f}   per round: {rounds}")
    print(f"\n2. the writer: one-row transactions/s, median of {args.repeats}")
    print(f"   {'writers':>9}" + "".join(f"{label:>24}" for label in WRITER_MODES.values()))
    for writers in (1, args.threads):
        alone = statistics.median(written[(writers, "insert")])
        cells = []
        for mode in WRITER_MODES:
            rate = statistics.median(written[(writers, mode)])
            cells.append(f"{rate:>14,.0f} ({rate / alone:4.2f}x)")
        print(f"   {writers:>9}" + "".join(f"{cell:>24}" for cell in cells))
    ratio = drained["deleted"] / drained["kept"]
    faster = "more" if ratio > THRESHOLD else "not more"
    print(
        f"\n   issue 21's rule, rows deleted at insert when (d) / (w) > {THRESHOLD}: "
        f"{ratio:.2f}, {faster} than 20% faster"
    )
    print(
        "   the project keeps the rows whatever this says: a slot lost past "
        "max_slot_wal_keep_size\n   would lose every event not yet sent, which the "
        "table now keeps for the polling fallback\n   (docs/outbox-relay.md, "
        '"Keep the rows, or delete them at insert?")'
    )


if __name__ == "__main__":
    main()
