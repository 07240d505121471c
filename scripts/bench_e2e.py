"""End-to-end latency: the auth API's commit returning -> the event applied in groups' view,
on the secured stack beside a private PLAINTEXT broker, in one run.

At a steady rate (default 200 events/s) the benchmark renames users through the auth API
and records when each answer comes back. The auth API, the relay and the groups consumer
run as their own processes, as `playball up` runs them, on fresh databases of the running
stack; the consumer's new group starts at the topic's end, so it applies the benchmark's
own events and not the history every earlier run left on the shared topic. The consumer
is built exactly as `playball groups consume` builds it, plus an apply callback that
reports each applied (user, version) with its CLOCK_MONOTONIC time, a clock every
process on the machine shares.

The whole system runs twice (see scripts/bench_support.py): on the secured stack's broker
(SASL_SSL, SCRAM-SHA-512, authorizer), the relay as ``auth-relay`` and the consumer as
``groups-consumer``, with ACLs on their group granted for the run (``playball-admin``
sets up only); then on a private PLAINTEXT broker the script starts (same heap and JIT as
the stack's), killed at the end. Both use the stack's registry and PostgreSQL. On each,
--repeats series of --seconds; the figures are the medians of the series' percentiles:
p50/p90/p99/max next to the targets, secured beside PLAINTEXT, and where the time went:
the API's answer -> the relay's produce() (each message's Kafka timestamp, taken when the
relay hands it to the producer; wall clock in ms, so a split to about a millisecond;
negative when the relay was faster than the answer reached the client) and produce() ->
applied (the broker, the consumer's poll and its apply). Targets are printed as met or
NOT MET; a miss does not fail the run (the machine is shared).

    UV_NO_SYNC=1 python3 -m uv run python scripts/bench_e2e.py [--rate 200] [--seconds 10]
        [--repeats 3]

Needs the stack (`playball stack up`) and registered schemas (`playball schemas register`).
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from playball_core.local_stack import KAFKA_ADMIN, KAFKA_CONSUMER
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_groups.settings import GroupsSettings
from playball_stack.settings import StackSettings
from support.system import RunningSystem, running_system

if TYPE_CHECKING:  # mypy knows this directory as the namespace package `scripts`
    from scripts import bench_support as bench
else:
    import bench_support as bench

USERS = 200
SENDERS = 8
TARGET_P50_MS, TARGET_P99_MS = 15.0, 50.0
QUANTILES = (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("max", 1.0))

Key = tuple[uuid.UUID, int]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def consumer_child() -> None:
    """The groups consumer as `playball groups consume` runs it, reporting applied events.

    One line per applied event on stdout: user id, version, time.monotonic_ns() when
    applied, and when it was produced (its Kafka timestamp on the same clock; - if none).
    """
    from playball_events.gc_tuning import tune_for_service  # noqa: PLC0415
    from playball_groups.entrypoints.bootstrap import build_consumer  # noqa: PLC0415

    def on_applied(outcome: Any) -> None:
        now = time.monotonic_ns()
        wall_minus_monotonic = time.time_ns() - now
        lines = []
        for e in outcome.applied:
            stamp = e.message.timestamp_ms
            produced = "-" if stamp is None else str(stamp * 1_000_000 - wall_minus_monotonic)
            lines.append(f"{e.record.user_id} {e.record.user_version} {now} {produced}\n")
        sys.stdout.write("".join(lines))
        sys.stdout.flush()

    consumer = build_consumer(GroupsSettings(), on_applied=on_applied)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: consumer.stop())
    tune_for_service()
    consumer.run()


def start_consumer(
    env: dict[str, str],
    applied: dict[tuple[uuid.UUID, int], float],
    produced: dict[tuple[uuid.UUID, int], float],
) -> Any:
    child = subprocess.Popen(
        [sys.executable, __file__, "--consumer-child"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        text=True,
    )

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            user, version, ns, produced_ns = line.split()
            key = (uuid.UUID(user), int(version))
            applied[key] = int(ns) / 1e9
            if produced_ns != "-":
                produced[key] = int(produced_ns) / 1e9

    threading.Thread(target=read, name="applied-reader", daemon=True).start()
    return child


@dataclass
class Series:
    """One series' latencies (ms): answer -> applied, answer -> produce, produce -> applied."""

    achieved: float
    events: int
    latencies: list[float]
    relay: list[float]
    delivery: list[float]

    @property
    def missing(self) -> int:
        return self.events - len(self.latencies)


def register_users(client: httpx.Client, auth: str) -> list[tuple[uuid.UUID, dict[str, str]]]:
    users = []
    for n in range(USERS):
        password = f"pw-{uuid.uuid4().hex}"
        body = {
            "username": f"bench{n}-{uuid.uuid4().hex[:6]}",
            "email": f"bench{n}-{uuid.uuid4().hex[:6]}@example.org",
            "password": password,
            "display_name": f"Bench {n}",
        }
        user = client.post(f"{auth}/users", json=body).json()
        # renames go to auth's /users/me: an account-scope token (300 s)
        token = client.post(
            f"{auth}/token",
            data={"username": body["username"], "password": password, "scope": "account"},
        ).json()["access_token"]
        users.append((uuid.UUID(user["id"]), {"Authorization": f"Bearer {token}"}))
    return users


def one_series(
    auth: str,
    users: list[tuple[uuid.UUID, dict[str, str]]],
    applied: dict[Key, float],
    produced: dict[Key, float],
    args: argparse.Namespace,
) -> Series:
    returned: dict[Key, float] = {}
    interval = 1.0 / args.rate
    # the API answers in a few ms, but not always within one interval: send from a small
    # pool so a slow answer never delays the next request
    pool = ThreadPoolExecutor(max_workers=SENDERS)

    # One keep-alive connection per sender thread, with the standard library's client:
    # httpx costs several times its CPU per request, and on two cores the client's CPU is
    # taken from the services being measured.
    address = urlsplit(auth)
    local = threading.local()

    def rename(user_id: uuid.UUID, headers: dict[str, str], n: int) -> None:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection(
                address.hostname or "127.0.0.1", address.port, timeout=10
            )
        body = json.dumps({"display_name": f"n{n}"})
        local.connection.request(
            "PATCH",
            "/users/me",
            body=body,
            headers={**headers, "Content-Type": "application/json"},
        )
        answer = local.connection.getresponse()
        payload = answer.read()
        returned[(user_id, json.loads(payload)["version"])] = time.monotonic()

    start = time.monotonic()
    sent = 0
    with pool:
        while (now := time.monotonic()) - start < args.seconds:
            due = start + sent * interval
            if now < due:
                time.sleep(due - now)
            user_id, headers = users[sent % len(users)]
            pool.submit(rename, user_id, headers, sent)
            sent += 1
        achieved = sent / (time.monotonic() - start)
    deadline = time.monotonic() + 60
    while not all(key in applied for key in returned):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return Series(
        achieved,
        len(returned),
        [(applied[k] - t) * 1000 for k, t in returned.items() if k in applied],
        [(produced[k] - t) * 1000 for k, t in returned.items() if k in produced],
        [(applied[k] - produced[k]) * 1000 for k in returned if k in produced and k in applied],
    )


def measure(stack: StackSettings, cluster: bench.Cluster, args: argparse.Namespace) -> list[Series]:
    """--repeats series through one running system whose Kafka is ``cluster``."""
    if not cluster.secured:  # the stack's PostgreSQL and registry, this Kafka
        stack = StackSettings(
            home=stack.home,
            cache_dir=stack.cache_dir,
            kafka_bootstrap=cluster.bootstrap,
            database_url=stack.effective_database_url,
            schema_registry_url=stack.effective_registry_url,
        )
    workdir = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    series: list[Series] = []
    try:
        # this process (the test support's Kafka helpers, `playball topics ensure`) as admin
        with (
            cluster.environ(KAFKA_ADMIN),
            running_system(stack, workdir, services=("auth-api", "auth-relay")) as system,
        ):
            series = run_on(system, cluster, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        # the running system revokes the services' bindings on the shared topic as it stops
        bench.restore_manifest_acls(cluster, PLAYBALL_AUTH_USER_EVENTS_V1.name)
    return series


def run_on(system: RunningSystem, cluster: bench.Cluster, args: argparse.Namespace) -> list[Series]:
    applied: dict[Key, float] = {}
    produced: dict[Key, float] = {}
    # the consumer is a child of this process (see consumer_child), as groups-consumer
    consumer = start_consumer(system.environment_of(KAFKA_CONSUMER), applied, produced)
    try:
        with httpx.Client(timeout=10) as client:
            users = register_users(client, system.auth_url)
        deadline = time.monotonic() + 120
        while not all((uid, 1) in applied for uid, _ in users):
            if time.monotonic() > deadline:
                sys.exit("bench: the registrations never reached the view")
            time.sleep(0.05)
        print(f"warm ({cluster.label}): {USERS} users registered and applied", file=sys.stderr)
        series = []
        for n in range(args.repeats):
            series.append(one_series(system.auth_url, users, applied, produced, args))
            cells = "  ".join(
                f"{name} {percentile(series[-1].latencies, q):6.1f}ms" for name, q in QUANTILES
            )
            print(f"  {cluster.label:<9} series {n + 1}: {cells}", file=sys.stderr)
        return series
    finally:
        consumer.send_signal(signal.SIGTERM)
        consumer.wait(timeout=60)


def median_of(series: list[Series], values: str, q: float) -> float:
    return statistics.median(percentile(getattr(s, values), q) for s in series)


def report(results: dict[str, list[Series]], args: argparse.Namespace) -> None:
    sec, pln = results["secured"], results["PLAINTEXT"]
    print("\nend-to-end latency, auth commit returned -> applied in groups' view")
    print(
        f"  median of {args.repeats} series of {args.seconds:.0f} s per broker; rate asked "
        f"{args.rate:.0f}/s, achieved {statistics.median(s.achieved for s in sec):.0f}/s "
        f"(secured) and {statistics.median(s.achieved for s in pln):.0f}/s (PLAINTEXT)"
    )
    for label, series in results.items():
        events, missing = sum(s.events for s in series), sum(s.missing for s in series)
        print(f"  {label}: {events} events, {missing} not applied within 60 s")
    print(f"\n  {'':8}{'secured':>10}{'PLAINTEXT':>11}{'sec/PLAIN':>11}   target (secured)")
    targets = {"p50": TARGET_P50_MS, "p99": TARGET_P99_MS}
    for name, q in QUANTILES:
        s, p = median_of(sec, "latencies", q), median_of(pln, "latencies", q)
        line = f"  {name:8}{s:>8.1f}ms{p:>9.1f}ms{s / p:>11.2f}"
        if name in targets:
            line += f"   <= {targets[name]:.0f} ms: {bench.verdict(s <= targets[name])}"
        print(line)
    s = statistics.median(statistics.fmean(x.latencies) for x in sec)
    p = statistics.median(statistics.fmean(x.latencies) for x in pln)
    print(f"  {'mean':8}{s:>8.1f}ms{p:>9.1f}ms{s / p:>11.2f}")
    if all(x.relay and x.delivery for x in sec + pln):
        print("\nwhere the time went (Kafka timestamps: about 1 ms resolution)")
        print(f"  {'':28}{'secured p50/p90/p99':>24}{'PLAINTEXT p50/p90/p99':>26}")
        for name, values in (
            ("answer -> relay's produce", "relay"),
            ("produce -> applied", "delivery"),
        ):
            cells = [
                "/".join(f"{median_of(series, values, q):.1f}" for q in (0.5, 0.9, 0.99))
                for series in (sec, pln)
            ]
            print(f"  {name:28}{cells[0] + ' ms':>24}{cells[1] + ' ms':>26}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of one series")
    parser.add_argument("--repeats", type=int, default=3, help="series per broker (median)")
    parser.add_argument("--consumer-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.consumer_child:
        consumer_child()
        return

    stack = StackSettings()  # before any PLAYBALL_KAFKA_* is set here: the stack's own
    secured = bench.secured_stack(stack)
    with bench.plaintext_broker(stack) as plaintext:
        results = {cluster.label: measure(stack, cluster, args) for cluster in (secured, plaintext)}
    report(results, args)


if __name__ == "__main__":
    main()
