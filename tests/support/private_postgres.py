"""A private PostgreSQL on a free port, for tests that stop and restart the database.

Never the shared stack's: restarting that would break every other test using it. Started
through ``playball_stack`` like the shared one (same binaries, same ``initdb`` options),
with its own home and port; Kafka and the registry stay the shared ones (external here,
so this stack never starts or stops them).
"""

import os
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playball_stack.components.postgres import Postgres
from playball_stack.processes import pids_with_marker
from playball_stack.settings import StackSettings
from playball_stack.stack import Stack

from support.stack_env import free_port, share_secrets


class PrivatePostgres:
    """One PostgreSQL server this test owns: stop it, start it again, same data, same port."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        assert stack.postgres is not None
        self.server: Postgres = stack.postgres

    @property
    def url(self) -> str:
        """SQLAlchemy URL of its ``playball`` database (created by the stack on start)."""
        return self._stack.settings.effective_database_url

    def stop(self) -> None:
        """``pg_ctl stop -m fast``: open connections are terminated, as in a restart."""
        self.server.stop()
        assert self.server.pid() is None

    def crash(self, timeout: float = 60) -> None:
        """Immediate shutdown (SIGQUIT, what ``pg_ctl stop -m immediate`` sends): every
        process exits at once without a checkpoint, so the next start runs crash recovery
        from the WAL, as after a power cut."""
        pid = self.server.pid()
        assert pid is not None
        os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + timeout
        while self.server.pid() is not None:
            if time.monotonic() > deadline:
                msg = f"PostgreSQL (pid {pid}) still running {timeout} s after SIGQUIT"
                raise TimeoutError(msg)
            time.sleep(0.05)

    def ran_crash_recovery(self) -> bool:
        """The server's log says a start replayed the WAL after an unclean shutdown."""
        return self.recoveries() > 0

    def recoveries(self) -> int:
        """How many starts replayed the WAL after an unclean shutdown, per the server's log
        (a server shared by several tests: compare before and after)."""
        log = self.server.log_file().read_text(errors="replace")
        return log.count("automatic recovery in progress")

    def start(self, timeout: float = 120) -> None:
        """Start it again on the same port and data; returns once it answers queries."""
        self._stack.up(timeout=timeout)


@contextmanager
def private_postgres(stack: StackSettings, **settings: object) -> Iterator[PrivatePostgres]:
    """A fresh PostgreSQL cluster in a temporary home, stopped and removed afterwards.

    The home is a short path under the system's temp directory, not pytest's ``tmp_path``:
    the server's Unix socket lives in it, and a socket path may not exceed ~107 bytes.
    ``settings``: more of its :class:`StackSettings` (``postgres_max_slot_wal_keep_size``).
    """
    with tempfile.TemporaryDirectory(prefix="pbpg") as tmp:
        home = Path(tmp)
        share_secrets(stack, home)  # the session's roles and passwords, and its CA
        private = StackSettings(
            home=home,
            cache_dir=stack.cache_dir,
            postgres_port=free_port(),
            database_url=None,  # even if DATABASE_URL is set: this one is started here
            # and its admin URL is its own, even with the session's exported (as a shell
            # that sourced the stack's credentials/playball.env has it): else the tests
            # here stopped and restarted nothing, and talked to the session's server
            postgres_admin_url=None,
            kafka_bootstrap=stack.effective_kafka_bootstrap,  # external: not started here
            schema_registry_url=stack.effective_registry_url,  # external: not started here
            **settings,  # type: ignore[arg-type]
        )
        cluster = Stack(private)
        assert [c.name for c in cluster.components()] == ["postgres"]
        try:
            cluster.up(timeout=120)
            yield PrivatePostgres(cluster)
        finally:
            cluster.down()
            assert pids_with_marker(str(home)) == []
