"""The auth API's CPU per display-name update, beside a minimal FastAPI endpoint doing one
UPDATE, in one run on the same machine and database.

Run: UV_NO_SYNC=1 python3 -m uv run python scripts/bench_auth_api.py [--requests 2000]
        [--rounds 5] [--clients 8] [--users 50] [--profile OUT] [--account-threads N,...]

Two servers run as their own processes on a fresh database of the stack's PostgreSQL:

- **auth**: `playball auth serve`, as `playball up` runs it (its migrations, its signing
  keys, the outbox writer on its sessions). Each request is ``PATCH /users/me`` with an
  account token, changing the display name: the token verified, the user read and its
  credentials version checked, the UPDATE with its version check, the UserUpdated event
  collected at flush and its outbox row inserted, one commit.
- **reference**: a FastAPI app of one ``PATCH /users/{id}`` endpoint doing one ``UPDATE
  users SET display_name = ...`` through SQLAlchemy Core, under ``uvicorn.run`` with the
  settings `playball auth serve` uses, on the same database and the same users.

``--account-threads 40,3`` runs more auth servers beside the default one, each with
``PLAYBALL_AUTH_ACCOUNT_THREADS`` set to one of the counts (40 is anyio's pool, which the
account routes ran on before they had threads of their own), all on the same database,
keys and users: what the thread count costs, in the same run.

The load is --clients keep-alive connections (the standard library's client, as
bench_e2e.py's) sending --requests updates per round; rounds alternate the servers so
machine noise hits both alike. The figure is each server's CPU (user + system, read from
``/proc/<pid>/stat`` before and after the round) divided by the requests it answered: the
client's own CPU is not in it. The median of the rounds is printed, with the target
(1.2 ms per update, issue 21), the ratio to the reference, and the kernel's share (the
sockets' sends and polls, the threads' wake-ups).

``--profile OUT`` samples the auth server with py-spy (on PATH; not a project
dependency) through the measured rounds and writes its collapsed stacks to OUT: what to
cut next. The sampling slows the server, so that run's figures are not comparable.

Needs the stack (`playball stack up`).
"""

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from playball_service_kit.worker_threads import default_max_threads
from playball_stack.settings import StackSettings
from support.databases import fresh_postgres
from support.stack_env import free_port
from support.system import PASSWORD_COST_ENV, playball, signing_keys

TARGET_MS = 1.2
AUTH = "auth API"  # the server as `playball auth serve` runs by default: the target's
THREADS_VARIABLE = "PLAYBALL_AUTH_ACCOUNT_THREADS"
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 60.0


def _thread_counts(text: str) -> str:
    """``--account-threads``: thread counts 1-1024, comma-separated."""
    for part in filter(None, (p.strip() for p in text.split(","))):
        if not part.isdigit() or not 1 <= int(part) <= 1024:
            msg = f"{part!r}: each thread count must be a whole number from 1 to 1024"
            raise argparse.ArgumentTypeError(msg)
    return text


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU of process ``pid`` so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # after the command's ")": state is field 3, utime 14 and stime 15 (proc(5))
    return int(fields[11]) / TICKS_PER_SECOND, int(fields[12]) / TICKS_PER_SECOND


@dataclass(frozen=True)
class Round:
    cpu_ms: float  # user + system, per request
    system_ms: float  # the kernel's part: sockets, polls, thread wake-ups
    per_second: float


def reference_child(port: int, database_url: str) -> None:
    """The reference server: one endpoint, one UPDATE, nothing else (no auth, no outbox)."""
    import uvicorn  # noqa: PLC0415
    from fastapi import FastAPI  # noqa: PLC0415
    from playball_service_kit.database_sql import make_engine  # noqa: PLC0415
    from pydantic import BaseModel  # noqa: PLC0415
    from sqlalchemy import text  # noqa: PLC0415

    # no ping at checkout: the least an endpoint can do per UPDATE
    engine = make_engine(database_url, pool_size=16, max_overflow=16, pool_pre_ping=False)
    update = text("UPDATE users SET display_name = :name WHERE id = :id")
    app = FastAPI()

    class Patch(BaseModel):
        display_name: str

    @app.patch("/users/{user_id}")
    def patch(user_id: uuid.UUID, body: Patch) -> dict[str, str]:
        with engine.begin() as connection:
            connection.execute(update, {"name": body.display_name, "id": user_id})
        return {"display_name": body.display_name}

    # `playball auth serve`'s settings
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info")


@dataclass
class Server:
    label: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def wait_up(self, path: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"bench: {self.label} exited:\n{self.log.read_text()[-3000:]}")
            try:
                httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        sys.exit(f"bench: {self.label} did not answer within {START_TIMEOUT:.0f} s")


@contextmanager
def started(
    label: str, command: list[str], env: dict[str, str], port: int, workdir: Path
) -> Iterator[Server]:
    log = workdir / f"{label}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(label, process, port, log)
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


Request = tuple[str, dict[str, str]]  # path, headers


def load(port: int, requests: list[Request], clients: int) -> float:
    """Send each request as a PATCH with a new display name from ``clients`` keep-alive
    connections; returns the wall time. Any answer but 200 ends the benchmark."""
    local = threading.local()

    def send(n: int) -> None:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        path, headers = requests[n]
        body = json.dumps({"display_name": f"n{n} {uuid.uuid4().hex[:6]}"})
        local.connection.request(
            "PATCH", path, body=body, headers={**headers, "Content-Type": "application/json"}
        )
        answer = local.connection.getresponse()
        payload = answer.read()
        if answer.status != 200:
            msg = f"PATCH {path}: {answer.status} {payload[:300]!r}"
            raise RuntimeError(msg)

    started_at = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(send, n) for n in range(len(requests))]:
            future.result()
    return time.perf_counter() - started_at


def measured_round(server: Server, requests: list[Request], clients: int) -> Round:
    user_before, system_before = cpu_seconds(server.process.pid)
    wall = load(server.port, requests, clients)
    user_after, system_after = cpu_seconds(server.process.pid)
    user, system = user_after - user_before, system_after - system_before
    count = len(requests)
    return Round((user + system) * 1000 / count, system * 1000 / count, count / wall)


def register(auth: str, users: int) -> list[tuple[uuid.UUID, str]]:
    """``users`` accounts, each with an account-scope token."""
    found = []
    with httpx.Client(timeout=30) as client:
        for n in range(users):
            password = f"pw-{uuid.uuid4().hex}"
            body = {
                "username": f"bench{n}-{uuid.uuid4().hex[:6]}",
                "email": f"bench{n}-{uuid.uuid4().hex[:6]}@example.org",
                "password": password,
                "display_name": f"Bench {n}",
            }
            answer = client.post(f"{auth}/users", json=body)
            answer.raise_for_status()
            token = client.post(
                f"{auth}/token",
                data={"username": body["username"], "password": password, "scope": "account"},
            )
            token.raise_for_status()
            found.append((uuid.UUID(answer.json()["id"]), token.json()["access_token"]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="updates per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument(
        "--profile", type=Path, metavar="OUT", help="py-spy's collapsed stacks of the auth server"
    )
    parser.add_argument(
        "--account-threads",
        default="",
        metavar="N[,N...]",
        type=_thread_counts,
        help=f"also run an auth server with {THREADS_VARIABLE}=N for each N, beside the "
        "default one (e.g. 40,3: anyio's pool size, and fewer threads than the default)",
    )
    parser.add_argument(
        "--reference-child", nargs=2, metavar=("PORT", "URL"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.reference_child:
        reference_child(int(args.reference_child[0]), args.reference_child[1])
        return

    stack = StackSettings()
    workdir = Path(tempfile.mkdtemp(prefix="bench-auth-api-"))
    try:
        with fresh_postgres(stack.effective_database_url, "playball_auth_bench") as url:
            run(args, url, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, url: str, workdir: Path) -> None:
    reference_port = free_port()
    auth_servers = _auth_servers(args.account_threads)  # label -> thread count
    auth_ports = {name: free_port() for name in auth_servers}
    first_port = next(iter(auth_ports.values()))
    env = {
        **os.environ,
        "PLAYBALL_AUTH_DATABASE_URL": url,
        "PLAYBALL_AUTH_SIGNING_KEYS": str(signing_keys(workdir)),
        # one issuer for every auth server: a token from one is good at the others
        "PLAYBALL_AUTH_ISSUER": f"http://127.0.0.1:{first_port}",
        **PASSWORD_COST_ENV,
    }
    env.pop("PLAYBALL_AUTH_ACCOUNT_THREADS", None)  # the default, unless a server names one
    playball(["auth", "migrate"], env)
    reference_command = [
        sys.executable,
        __file__,
        "--reference-child",
        str(reference_port),
        url,
    ]
    with ExitStack() as stack:
        auths: dict[str, Server] = {}
        for name, port in auth_ports.items():
            command = [sys.executable, "-m", "playball_cli", "auth", "serve", "--port", str(port)]
            threads = auth_servers[name]
            server_env = env if threads is None else {**env, THREADS_VARIABLE: str(threads)}
            auths[name] = stack.enter_context(
                started(name.replace(" ", "-"), command, server_env, port, workdir)
            )
        reference = stack.enter_context(
            started("reference", reference_command, env, reference_port, workdir)
        )
        for auth in auths.values():
            auth.wait_up("/healthz")
        reference.wait_up("/docs")
        users = register(f"http://127.0.0.1:{first_port}", args.users)
        auth_requests: list[Request] = [
            ("/users/me", {"Authorization": f"Bearer {users[n % len(users)][1]}"})
            for n in range(args.requests)
        ]
        reference_requests: list[Request] = [
            (f"/users/{users[n % len(users)][0]}", {}) for n in range(args.requests)
        ]
        servers: dict[str, tuple[Server, list[Request]]] = {
            **{name: (auth, auth_requests) for name, auth in auths.items()},
            "reference": (reference, reference_requests),
        }
        for server, requests in servers.values():  # warm up: pools, caches, JIT-less Python
            measured_round(server, requests[: args.requests // 4], args.clients)
        profiler = _profiler(args.profile, auths[AUTH].process.pid)
        rounds: dict[str, list[Round]] = {name: [] for name in servers}
        for number in range(args.rounds):
            # every other round in reverse: no server always follows the same one
            order = list(servers) if number % 2 == 0 else list(reversed(servers))
            for name in order:
                server, requests = servers[name]
                rounds[name].append(measured_round(server, requests, args.clients))
        if profiler is not None:
            profiler.send_signal(2)
            profiler.wait(30)
        report(rounds, args)


def _auth_servers(account_threads: str) -> dict[str, int | None]:
    """The auth servers to run, by label: the default one (its threads unset: 2 per CPU),
    then one per thread count ``--account-threads`` asks for."""
    servers: dict[str, int | None] = {AUTH: None}
    for count in filter(None, (part.strip() for part in account_threads.split(","))):
        servers[f"auth, {count} threads"] = int(count)
    return servers


def _profiler(out: Path | None, pid: int) -> "subprocess.Popen[bytes] | None":
    """py-spy sampling the auth server through the measured rounds (its collapsed stacks
    to ``out``); it slows the server, so the figures of such a run are not the ones."""
    if out is None:
        return None
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        sys.exit("bench: --profile needs py-spy on PATH (pip install py-spy, outside the project)")
    command = [py_spy, "record", "-p", str(pid), "-r", "150", "--gil", "-f", "raw", "-o", str(out)]
    return subprocess.Popen(command)


def report(rounds: dict[str, list[Round]], args: argparse.Namespace) -> None:
    print(
        f"CPU per PATCH (server process, /proc), {args.clients} clients, median of "
        f"{args.rounds} rounds x {args.requests} requests; {AUTH}: {THREADS_VARIABLE} "
        f"unset, {default_max_threads()} threads (2 per CPU)"
    )

    def median(name: str, figure: str) -> float:
        return float(statistics.median(getattr(r, figure) for r in rounds[name]))

    reference = median("reference", "cpu_ms")
    for name, measured in rounds.items():
        cpu = median(name, "cpu_ms")
        each = " ".join(f"{r.cpu_ms:.2f}" for r in measured)
        print(
            f"  {name:<18} {cpu:5.2f} ms ({median(name, 'system_ms'):4.2f} of it system)  "
            f"{cpu / reference:4.2f}x the reference  {median(name, 'per_second'):4.0f} req/s"
            f"  rounds: {each}"
        )
    auth = median(AUTH, "cpu_ms")
    print(f"  target: the auth API at {TARGET_MS} ms or less per update: {verdict(auth)}")


def verdict(ms: float) -> str:
    return "met" if ms <= TARGET_MS else "NOT MET"


if __name__ == "__main__":
    main()
