"""A login flood against the auth API: do the JWKS and the health check stay fast?

64 clients log in over and over with the correct passwords of 64 distinct accounts, so
every request reaches argon2id at the service's DEFAULT cost (64 MiB, t=3, p=4: the
production profile, not the tests' floor). Meanwhile a prober fetches
``/.well-known/jwks.json`` and ``/healthz``; their latencies during the flood are printed
beside the same probes at rest, before it. Also printed: argon2 verifications per second
(answered logins) and the share of 200, 503 (``busy``: the hashing slots were full) and
429 answers. The run fails (exit 1) when 429s exceed 1%: correct passwords must never be
throttled. Target: JWKS and healthz p99 during the flood at most 50 ms.

The auth API runs as its own process (``playball auth serve``) on a fresh database of
the running stack, as ``playball up`` runs it.

    UV_NO_SYNC=1 python3 -m uv run python scripts/bench_login_flood.py [--seconds 15]

Needs the stack (`playball stack up`).
"""

import argparse
import http.client
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from playball_stack.settings import StackSettings
from support.system import running_system

CLIENTS = 64
PROBE_INTERVAL = 0.02  # seconds between two probes of each endpoint
TARGET_P99_MS = 50.0
MAX_THROTTLED_SHARE = 0.01
# the service's own defaults, overriding the floor cost the test systems use
DEFAULT_COST = {
    "PLAYBALL_AUTH_PASSWORD_MEMORY_KIB": "65536",
    "PLAYBALL_AUTH_PASSWORD_TIME_COST": "3",
    "PLAYBALL_AUTH_PASSWORD_PARALLELISM": "4",
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Prober(threading.Thread):
    """GETs one path every PROBE_INTERVAL on a keep-alive connection, timing each."""

    def __init__(self, base: str, path: str) -> None:
        super().__init__(name=f"probe {path}", daemon=True)
        self.address = urlsplit(base)
        self.path = path
        self.samples: list[tuple[float, float]] = []  # (when, milliseconds)
        self.failures = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection(
            self.address.hostname or "127.0.0.1", self.address.port, timeout=30
        )
        while not self.stopping.wait(PROBE_INTERVAL):
            started = time.monotonic()
            try:
                connection.request("GET", self.path)
                answer = connection.getresponse()
                answer.read()
            except (OSError, http.client.HTTPException):
                self.failures += 1
                connection.close()
                continue
            if answer.status != 200:
                self.failures += 1
            self.samples.append((started, (time.monotonic() - started) * 1000))

    def between(self, start: float, end: float) -> list[float]:
        return [ms for when, ms in self.samples if start <= when < end]


def register(client: httpx.Client, auth: str, n: int) -> tuple[str, str]:
    name, password = f"flood{n}-{uuid.uuid4().hex[:8]}", f"flood password {uuid.uuid4().hex}"
    body = {
        "username": name,
        "email": f"{name}@example.org",
        "password": password,
        "display_name": f"Flood {n}",
    }
    deadline = time.monotonic() + 60
    while True:
        created = client.post(f"{auth}/users", json=body)
        if created.status_code == 201:
            return name, password
        # 503 busy: the hashing slots are full (another registration); try again
        if created.status_code != 503 or time.monotonic() > deadline:
            sys.exit(f"bench: registering {name} answered {created.status_code}: {created.text}")


def flood(auth: str, accounts: list[tuple[str, str]], seconds: float) -> Counter[int]:
    """Every client logs in with its own account until ``seconds`` have passed."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    address = urlsplit(auth)
    end = time.monotonic() + seconds

    def client(username: str, password: str) -> None:
        connection = http.client.HTTPConnection(
            address.hostname or "127.0.0.1", address.port, timeout=60
        )
        form = urlencode({"username": username, "password": password})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        seen: Counter[int] = Counter()
        while time.monotonic() < end:
            try:
                connection.request("POST", "/token", body=form, headers=headers)
                answer = connection.getresponse()
                answer.read()
            except (OSError, http.client.HTTPException):
                seen[0] += 1  # no answer at all
                connection.close()
                continue
            seen[answer.status] += 1
            if answer.status == 503:
                # as a client should: wait what Retry-After says (1 s), not hammer
                time.sleep(float(answer.getheader("Retry-After") or 1))
        with lock:
            statuses.update(seen)

    threads = [
        threading.Thread(target=client, args=account, name=f"client {n}")
        for n, account in enumerate(accounts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="flood duration")
    parser.add_argument("--rest", type=float, default=5.0, help="probing at rest, seconds")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="bench-login-") as workdir,
        running_system(StackSettings(), Path(workdir), ("auth-api",), DEFAULT_COST) as system,
        httpx.Client(timeout=60) as client,
    ):
        auth = system.auth_url
        accounts = [register(client, auth, n) for n in range(CLIENTS)]
        print(f"warm: {CLIENTS} accounts registered", file=sys.stderr)
        probers = [Prober(auth, "/.well-known/jwks.json"), Prober(auth, "/healthz")]
        for prober in probers:
            prober.start()
        rest_start = time.monotonic()
        time.sleep(args.rest)  # the at-rest baseline: probes only
        flood_start = time.monotonic()
        statuses = flood(auth, accounts, args.seconds)
        flood_end = time.monotonic()
        for prober in probers:
            prober.stopping.set()
            prober.join()

    total = sum(statuses.values())
    elapsed = flood_end - flood_start
    print(f"\nlogin flood: {CLIENTS} clients, {elapsed:.1f} s, {total} logins answered")
    print(f"{'':24} {'at rest p50/p99':>18} {'flood p50/p99':>18} {'p99 ratio':>10} target")
    for prober in probers:
        rest = prober.between(rest_start, flood_start)
        during = prober.between(flood_start, flood_end)
        if not rest or not during:
            sys.exit(f"bench: no samples of {prober.path} (failures: {prober.failures})")
        rest_p99, flood_p99 = percentile(rest, 0.99), percentile(during, 0.99)
        print(
            f"{prober.path:24} "
            f"{statistics.median(rest):7.1f} / {rest_p99:6.1f} ms "
            f"{statistics.median(during):7.1f} / {flood_p99:6.1f} ms "
            f"{flood_p99 / rest_p99:9.1f}x "
            f"{'ok' if flood_p99 <= TARGET_P99_MS else 'MISSED'} (p99 <= {TARGET_P99_MS:.0f} ms)"
            + (f", {prober.failures} failed probes" if prober.failures else "")
        )
    print(f"argon2 verifications: {statuses[200] / elapsed:.1f}/s (answered 200)")
    shares = ", ".join(
        f"{status or 'no answer'}: {count / total:.1%}"
        for status, count in sorted(statuses.items())
    )
    print(f"answers: {shares}")
    throttled = statuses[429] / total if total else 0.0
    if throttled > MAX_THROTTLED_SHARE:
        sys.exit(f"bench: {throttled:.1%} of correct logins were throttled (429), over 1%")


if __name__ == "__main__":
    main()
