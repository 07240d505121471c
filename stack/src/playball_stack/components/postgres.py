"""PostgreSQL from the machine's own binaries, in a data directory of the stack's.

PostgreSQL refuses to run as root, and sessions and CI run as root: then every server
binary runs as the ``postgres`` system user that Debian's package creates, on a data
directory that user owns. Debian keeps initdb/pg_ctl outside PATH, in
/usr/lib/postgresql/<version>/bin, so we look there first.
"""

import base64
import contextlib
import fcntl
import hashlib
import hmac
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
from playball_core import local_stack as names
from psycopg import sql

from playball_stack.components.base import Component, Progress
from playball_stack.credentials import DATABASE_OF, StackCredentials, load_credentials
from playball_stack.errors import (
    ComponentFailedError,
    DependencyDownError,
    StackError,
    ToolMissingError,
)
from playball_stack.processes import carries_marker, is_running, run_tool, tail

PG_LIB = Path("/usr/lib/postgresql")
USER = names.POSTGRES_ADMIN
# Each role owns the database its URL names (credentials.DATABASE_OF), but the relay's:
# it may only connect to the auth database (its table grants come with the auth
# migration that makes the outbox). The admin's own database is the test helpers'.
OWNERS = {database: role for role, database in DATABASE_OF.items() if role != names.POSTGRES_RELAY}
EXTRA_CONNECT = {DATABASE_OF[names.POSTGRES_RELAY]: (names.POSTGRES_RELAY,)}
# initdb and pg_ctl finish in seconds; a hang (full disk, stuck NFS) must not hang `up`
TOOL_TIMEOUT = 120.0


def find_pg_bin(pg_lib: Path = PG_LIB) -> Path | None:
    versions = sorted(
        (p for p in pg_lib.glob("*/bin") if (p / "initdb").is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1]
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


# the lock file the project's apt-get runs share (scripts/setup-browser takes it too)
APT_LOCK = Path(tempfile.gettempdir()) / "playball-apt.lock"


def install_postgres(progress: Progress) -> Path:
    """Install Debian's postgresql package (the stack runs as root in CI and sessions)."""
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        msg = (
            "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install PostgreSQL "
            "(Debian: apt-get install postgresql) or set DATABASE_URL to an existing server"
        )
        raise ToolMissingError(msg)
    progress("PostgreSQL binaries missing: installing Debian package 'postgresql' (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # one apt-get at a time: scripts/setup-browser may be installing chromium right now
    # (scripts/test runs it beside the stack's start), and apt-get refuses a held lock
    with APT_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for args in (["update", "-qq"], ["install", "-y", "-qq", "postgresql"]):
            result = subprocess.run(
                [apt, *args], capture_output=True, text=True, env=env, check=False
            )
            if result.returncode != 0:
                msg = f"apt-get {' '.join(args)} failed:\n{result.stderr[-2000:]}"
                raise ToolMissingError(msg)
    found = find_pg_bin()
    if found is None:
        msg = "apt-get installed postgresql but initdb is still not found"
        raise ToolMissingError(msg)
    return found


def ensure_database(sqlalchemy_url: str, database: str, hint: str = "") -> None:
    """Create ``database`` on the PostgreSQL server a SQLAlchemy URL names, unless it exists."""
    parts = urlsplit(sqlalchemy_url)
    try:
        with psycopg.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            dbname="postgres",
            connect_timeout=5,
            autocommit=True,
        ) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if exists.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    except psycopg.OperationalError as exc:
        # no connection at all (refused, timeout, DNS): the server is unreachable, not wrong
        msg = f"PostgreSQL at {parts.hostname}:{parts.port or 5432} did not answer: {exc}"
        raise DependencyDownError(msg) from exc
    except psycopg.Error as exc:
        msg = (
            f"cannot prepare database {database!r} on {parts.hostname}:{parts.port or 5432}: "
            f"{exc}. Create it there yourself{', ' + hint if hint else ''}"
        )
        raise StackError(msg) from exc


class Postgres(Component):
    name = "postgres"
    program = "postgres"

    def runtime_dir(self) -> Path:
        return self.data

    def __init__(self, home: Path, port: int, *, max_slot_wal_keep_size: str = "1GB") -> None:
        self.home = home
        self.max_slot_wal_keep_size = max_slot_wal_keep_size
        self.root = home / "postgres"
        self.data = self.root / "data"
        self.port = port
        self._bin: Path | None = None
        # handed over by Stack (as the Kafka nodes get theirs); read from the home if not
        self.credentials: StackCredentials | None = None

    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def ports(self) -> tuple[int, ...]:
        return (self.port,)

    def log_file(self) -> Path:
        return self.root / "postgres.log"

    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return argv

    def _binary(self, name: str) -> str:
        if self._bin is None:
            self._bin = find_pg_bin()
        if self._bin is None:
            msg = "PostgreSQL binaries not found; run `playball stack up` to install them"
            raise ToolMissingError(msg)
        return str(self._bin / name)

    def prepare(self, progress: Progress) -> None:
        self._bin = find_pg_bin() or install_postgres(progress)
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # the postgres user must reach its data dir through every parent
            for parent in [self.root, *self.root.parents]:
                if parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o011)
            shutil.chown(self.root, "postgres", "postgres")
        if (self.data / "PG_VERSION").is_file():
            return
        progress("initialising the PostgreSQL cluster")
        # the superuser's password reaches initdb through a file only its owner reads,
        # removed at once; every connection, local socket included, must then prove one
        password_file = self.root / ".initdb-password"
        descriptor = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as stream:
            stream.write(self._credentials().password(USER) + "\n")
        if os.geteuid() == 0:
            shutil.chown(password_file, "postgres", "postgres")
        argv = [
            self._binary("initdb"),
            "-D",
            str(self.data),
            "-U",
            USER,
            "--auth=scram-sha-256",
            f"--pwfile={password_file}",
            "-E",
            "UTF8",
            "--locale=C",
        ]
        try:
            result = run_tool(self._as_owner(argv), TOOL_TIMEOUT)
        finally:
            password_file.unlink(missing_ok=True)
        if result.returncode != 0:
            msg = f"initdb failed:\n{result.stdout[-1500:]}{result.stderr[-1500:]}"
            raise StackError(msg)

    def launch(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={shlex.quote(str(self.root))} -c max_connections=200 "
            # the log-based relay reads the outbox's inserts from the WAL through a slot
            # (one per relay database, and the tests' scratch databases' own)
            + " ".join(f"-c {name}={value}" for name, value in self.server_settings().items())
        )
        argv = [
            self._binary("pg_ctl"),
            "start",
            "-D",
            str(self.data),
            "-l",
            str(self.log_file()),
            "-o",
            options,
        ]
        result = run_tool(self._as_owner(argv), TOOL_TIMEOUT)
        if result.returncode != 0:
            # pg_ctl only says "could not start server"; the reason is in the server log
            reason = f"pg_ctl start failed: {(result.stdout + result.stderr).strip()[-1500:]}"
            raise ComponentFailedError(self.name, reason, tail(self.log_file()))

    def server_settings(self) -> dict[str, str]:
        """Settings given at start; a server found running with others is restarted."""
        return {
            "wal_level": "logical",
            "max_slot_wal_keep_size": shlex.quote(self.max_slot_wal_keep_size),
            "max_replication_slots": "64",
            "max_wal_senders": "64",
        }

    def _credentials(self) -> StackCredentials:
        if self.credentials is None:
            self.credentials = load_credentials(self.home)
        if self.credentials is None:  # `Stack.up` makes them before any prepare
            msg = f"the stack under {self.home} has no credentials; run `playball stack up`"
            raise StackError(msg)
        return self.credentials

    def _connect(self, dbname: str) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=USER,
            password=self._credentials().password(USER),
            dbname=dbname,
            connect_timeout=2,
            autocommit=True,
        )

    def healthy(self) -> bool:
        try:
            with self._connect("postgres") as conn:
                conn.execute("SELECT 1")
        except (psycopg.Error, StackError):
            return False
        return True

    def after_healthy(self) -> None:
        """The services' roles and databases, each database closed to everyone else."""
        self._restart_if_settings_differ()
        credentials = self._credentials()
        with self._connect("postgres") as conn:
            for role in (*OWNERS.values(), names.POSTGRES_RELAY):
                ensure_role(conn, role, credentials.password(role))
            for database, owner in OWNERS.items():
                ensure_owned_database(conn, database, owner, EXTRA_CONNECT.get(database, ()))

    def _restart_if_settings_differ(self) -> None:
        """A home started by an older version (``wal_level=replica``) is restarted with
        today's settings: ``wal_level`` only changes at a server start."""
        with self._connect("postgres") as conn:
            running = {}
            for name in ("wal_level", "max_replication_slots"):
                row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
                running[name] = str(row[0]) if row else ""
        wanted = self.server_settings()
        if all(running[name] == wanted[name] for name in running):
            return
        self.stop()
        self.launch()
        deadline = time.monotonic() + TOOL_TIMEOUT
        while not self.healthy():
            if time.monotonic() > deadline:
                raise ComponentFailedError(
                    self.name, "not healthy after a restart for wal_level", tail(self.log_file())
                )
            time.sleep(0.2)

    def pid(self) -> int | None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        # a stale postmaster.pid (after a crash or reboot) may name a pid since reused by
        # an unrelated process: ours is the postmaster started on our data directory
        return pid if is_running(pid) and carries_marker(pid, str(self.data)) else None

    def stop(self) -> None:
        if self.pid() is None:
            return
        argv = [self._binary("pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w"]
        run_tool(self._as_owner(argv), TOOL_TIMEOUT)

    def kill(self) -> None:
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def ensure_role(conn: psycopg.Connection[tuple[object, ...]], role: str, password: str) -> None:
    """A login role with ``password``; never a superuser. The relay's may replicate."""
    replication = sql.SQL("REPLICATION" if role == names.POSTGRES_RELAY else "NOREPLICATION")
    # the verifier, not the password: a statement may end up in the server's log
    verifier = sql.Literal(scram_verifier(password))
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if role == USER:  # the superuser initdb made: only its password is (re)set
        statement = sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), verifier)
    else:
        verb = sql.SQL("ALTER" if exists else "CREATE")
        statement = sql.SQL(
            "{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE {} PASSWORD {}"
        ).format(verb, sql.Identifier(role), replication, verifier)
    conn.execute(statement)


def ensure_owned_database(
    conn: psycopg.Connection[tuple[object, ...]],
    database: str,
    owner: str,
    also_connect: Sequence[str] = (),
) -> None:
    identifier = sql.Identifier(database)
    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(identifier, sql.Identifier(owner))
        )
    else:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(identifier, sql.Identifier(owner))
        )
    conn.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(identifier))
    for role in also_connect:
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(identifier, sql.Identifier(role))
        )


SCRAM_ITERATIONS = 4096  # PostgreSQL's own default (scram_iterations)


def scram_verifier(password: str, salt: bytes | None = None) -> str:
    """PostgreSQL's stored SCRAM-SHA-256 form of ``password`` (RFC 5802/7677), as the
    server would compute it from ``PASSWORD 'plain'``."""
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"
