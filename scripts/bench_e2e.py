"""End-to-end latency: the auth API's commit returning -> the event applied in groups' view.

At a steady rate (default 200 events/s) the benchmark renames users through the auth API
and records when each answer comes back. The auth API, the relay and the groups consumer
run as their own processes, as `playball up` runs them, on fresh databases of the running
stack; the consumer's new group starts at the topic's end, so it applies the benchmark's
own events and not the history every earlier run left on the shared topic. The consumer
is built exactly as `playball groups consume` builds it, plus an apply callback that
reports each applied (user, version) with its CLOCK_MONOTONIC time, a clock every
process on the machine shares. Prints p50/p90/p99/max next to the targets,
and where the time went: the API's answer -> the relay's produce() (each message's Kafka
timestamp, taken when the relay hands it to the producer; wall clock in ms, so a split to
about a millisecond; negative when the relay was faster than the answer reached the
client) and produce() -> applied (the broker, the consumer's poll and its apply).

    UV_NO_SYNC=1 python3 -m uv run python scripts/bench_e2e.py [--rate 200] [--seconds 20]

Needs the stack (`playball stack up`) and registered schemas (`playball schemas register`).
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from playball_groups.settings import GroupsSettings
from playball_stack.settings import StackSettings
from support.system import running_system

USERS = 200
SENDERS = 8
TARGET_P50_MS, TARGET_P99_MS = 15.0, 50.0


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


def main() -> None:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured duration")
    parser.add_argument("--consumer-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.consumer_child:
        consumer_child()
        return

    stack = StackSettings()
    workdir = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    # the consumer is a child of this process (see consumer_child)
    with running_system(stack, workdir, services=("auth-api", "auth-relay")) as system:
        applied: dict[tuple[uuid.UUID, int], float] = {}
        produced: dict[tuple[uuid.UUID, int], float] = {}
        consumer = start_consumer(system.env, applied, produced)
        try:
            auth = system.auth_url
            with httpx.Client(timeout=10) as client:
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
                        data={
                            "username": body["username"],
                            "password": password,
                            "scope": "account",
                        },
                    ).json()["access_token"]
                    users.append((uuid.UUID(user["id"]), {"Authorization": f"Bearer {token}"}))
                deadline = time.monotonic() + 120
                while not all((uid, 1) in applied for uid, _ in users):
                    if time.monotonic() > deadline:
                        sys.exit("bench: the registrations never reached the view")
                    time.sleep(0.05)
                print(f"warm: {USERS} users registered and applied", file=sys.stderr)

                returned: dict[tuple[uuid.UUID, int], float] = {}
                interval = 1.0 / args.rate
                # the API answers in a few ms, but not always within one interval: send
                # from a small pool so a slow answer never delays the next request
                pool = ThreadPoolExecutor(max_workers=SENDERS)

                # One keep-alive connection per sender thread, with the standard library's
                # client: httpx costs several times its CPU per request, and on two cores
                # the client's CPU is taken from the services being measured.
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
        finally:
            consumer.send_signal(signal.SIGTERM)
            consumer.wait(timeout=60)

    latencies = [(applied[k] - t) * 1000 for k, t in returned.items() if k in applied]
    missing = len(returned) - len(latencies)
    print("\nend-to-end latency, auth commit returned -> applied in groups' view")
    print(
        f"  rate asked {args.rate:.0f}/s, achieved {achieved:.0f}/s, {len(returned)} events, "
        f"{missing} not applied within 60 s"
    )
    print(f"  {'':8}{'measured':>10}{'target':>10}{'ratio':>8}")
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    print(f"  {'p50':8}{p50:>8.1f}ms{TARGET_P50_MS:>8.0f}ms{p50 / TARGET_P50_MS:>8.2f}")
    print(f"  {'p90':8}{percentile(latencies, 0.90):>8.1f}ms")
    print(f"  {'p99':8}{p99:>8.1f}ms{TARGET_P99_MS:>8.0f}ms{p99 / TARGET_P99_MS:>8.2f}")
    print(f"  {'max':8}{max(latencies):>8.1f}ms   mean {statistics.fmean(latencies):.1f}ms")
    relay = [(produced[k] - t) * 1000 for k, t in returned.items() if k in produced]
    delivery = [
        (applied[k] - produced[k]) * 1000 for k in returned if k in produced and k in applied
    ]
    if relay and delivery:
        print("\nwhere the time went (Kafka timestamps: about 1 ms resolution)")
        print(f"  {'':28}{'p50':>8}{'p90':>8}{'p99':>8}")
        for name, values in (
            ("answer -> relay's produce", relay),
            ("produce -> applied", delivery),
        ):
            cells = "".join(f"{percentile(values, q):>6.1f}ms" for q in (0.5, 0.9, 0.99))
            print(f"  {name:28}{cells}")


if __name__ == "__main__":
    main()
