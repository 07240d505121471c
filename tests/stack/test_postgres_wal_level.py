"""The stack's PostgreSQL runs with wal_level=logical (the log-based relay's slot needs it),
and a home whose server was started with another level, by an older version of the
project, is restarted with it by the next `stack up`: wal_level changes only at a start."""

import subprocess

import psycopg
import pytest
from playball_stack.settings import StackSettings
from support.private_postgres import private_postgres

pytestmark = pytest.mark.stack


def setting(url: str, name: str) -> str:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(f"SHOW {name}").fetchone()  # a fixed name of this test's
    assert row is not None
    return str(row[0])


def test_a_server_running_with_another_wal_level_is_restarted_with_logical_by_stack_up(
    settings: StackSettings,
) -> None:
    with private_postgres(settings, postgres_max_slot_wal_keep_size="64MB") as server:
        assert setting(server.url, "wal_level") == "logical"
        assert setting(server.url, "max_slot_wal_keep_size") == "64MB"
        # as an older version of the project started it: the default level, replica
        postgres = server.server
        postgres.stop()
        pg_ctl = postgres._binary("pg_ctl")  # the component's own binaries
        options = (
            f"-p {postgres.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={postgres.root}"
        )
        argv = postgres._as_owner(
            [
                pg_ctl,
                "start",
                "-w",
                "-D",
                str(postgres.data),
                "-l",
                str(postgres.log_file()),
                "-o",
                options,
            ]
        )
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
        assert setting(server.url, "wal_level") == "replica"
        old_pid = postgres.pid()

        server.start()  # `stack up` on that home

        assert setting(server.url, "wal_level") == "logical"
        assert postgres.pid() not in (None, old_pid)  # a new server, not the old one kept
