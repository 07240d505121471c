"""Operating the relay: SIGTERM releases its claims, Prometheus metrics, SQLite runs one
relay at a time, bad settings are named."""

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from playball_events.outbox.commands import OUTBOX_URL_VARIABLE
from playball_events.outbox.commands import app as outbox_commands
from playball_events.outbox.store_factory_sql import open_outbox_store
from playball_events.outbox.store_sql import SqlOutboxStore
from sqlalchemy import select
from support.outbox import insert_events, user_histories
from support.stack_env import free_port
from typer.testing import CliRunner

from relay.conftest import RelayProcesses, drained, read_topic, wait_for


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("playball_outbox_"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


@pytest.mark.stack
def test_metrics_are_served_and_sigterm_flushes_and_releases_every_claim(
    *,
    store: SqlOutboxStore,
    outbox_url: str,
    topic: str,
    relays: RelayProcesses,
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    events = [e for h in user_histories(topic, users=200, versions=10) for e in h]
    insert_events(store, events)
    port = free_port()
    relay = relays.start(
        outbox_url,
        PLAYBALL_KAFKA_BOOTSTRAP=kafka_bootstrap,
        PLAYBALL_SCHEMA_REGISTRY_URL=registry_url,
        PLAYBALL_RELAY_METRICS_PORT=port,
        PLAYBALL_RELAY_BATCH_SIZE=50,
    )

    def delivered() -> float:
        try:
            return scrape(port).get("playball_outbox_delivered_total", 0.0)
        except OSError:
            return 0.0

    wait_for(lambda: delivered() >= 100, 60, "the relay to report deliveries")
    assert RelayProcesses.terminate(relay) == 0  # SIGTERM mid-stream
    table = store.table
    with store.engine.connect() as conn:
        claimed = conn.execute(
            select(table.c.event_id).where(table.c.claimed_by.is_not(None))
        ).all()
    assert claimed == []  # released: a restart or another relay carries on at once
    log = relays.log(0)
    assert "stopping after the batch in flight" in log and "stopped" in log

    relays.start(
        outbox_url,
        PLAYBALL_KAFKA_BOOTSTRAP=kafka_bootstrap,
        PLAYBALL_SCHEMA_REGISTRY_URL=registry_url,
        PLAYBALL_RELAY_METRICS_PORT=port,
    )
    wait_for(drained(store), 60, "the outbox to drain")

    def backlog_reported_empty() -> bool:
        try:
            return scrape(port).get("playball_outbox_backlog") == 0.0
        except OSError:
            return False

    # the second relay may have nothing left to send; its gauges still report
    wait_for(backlog_reported_empty, 30, "the second relay's metrics")
    names = scrape(port)
    for name in (
        "playball_outbox_backlog",
        "playball_outbox_oldest_unsent_age_seconds",
        "playball_outbox_parked",
        "playball_outbox_delivered_total",
        "playball_outbox_delivered_per_second",
        "playball_outbox_flush_ack_seconds_count",
    ):
        assert name in names, name
    received = read_topic(kafka_bootstrap, topic, {e.event_id for e in events})
    assert {r.event_id for r in received} >= {e.event_id for e in events}


@pytest.mark.stack
def test_on_sqlite_one_relay_runs_at_a_time_and_delivers_everything(
    *,
    tmp_path: Path,
    topic: str,
    relays: RelayProcesses,
    kafka_bootstrap: str,
    registry_url: str,
) -> None:
    url = f"sqlite:///{tmp_path / 'auth.db'}"
    store = open_outbox_store(url)
    store.create_table()
    events = [e for h in user_histories(topic, users=20, versions=3) for e in h]
    insert_events(store, events)
    env = {
        "PLAYBALL_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PLAYBALL_SCHEMA_REGISTRY_URL": registry_url,
    }
    relays.start(url, **env)
    relays.start(url, **env)
    wait_for(drained(store), 60, "the SQLite outbox to drain")
    received = read_topic(kafka_bootstrap, topic, {e.event_id for e in events})
    assert {r.event_id for r in received} >= {e.event_id for e in events}
    wait_for(
        lambda: "holds the SQLite outbox" in relays.log(0) + relays.log(1),
        30,
        "the second relay to be refused the lease",
    )
    store.engine.dispose()


def run_relay_on_sqlite(tmp_path: Path, env: dict[str, str]) -> "subprocess.CompletedProcess[str]":
    """`python -m playball_events.outbox relay` on a scratch SQLite file, to completion."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "playball_events.outbox",
            "relay",
            "--database-url",
            f"sqlite:///{tmp_path / 'x.db'}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_bad_relay_setting_exits_2_naming_the_variable(tmp_path: Path) -> None:
    env = {**os.environ, "PLAYBALL_RELAY_BATCH_SIZE": "lots"}
    result = run_relay_on_sqlite(tmp_path, env)
    assert result.returncode == 2
    assert "PLAYBALL_RELAY_BATCH_SIZE" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_lease_shorter_than_the_delivery_timeout_is_refused(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PLAYBALL_RELAY_LEASE_SECONDS": "5",
        "PLAYBALL_RELAY_DELIVERY_TIMEOUT_MS": "10000",
    }
    result = run_relay_on_sqlite(tmp_path, env)
    assert result.returncode == 2
    assert "must be longer than the delivery timeout" in result.stderr


def test_a_password_on_the_command_line_is_warned_about_and_the_variable_is_read(
    tmp_path: Path,
) -> None:
    """Every process of the machine can read a command line (/proc/<pid>/cmdline): a
    --database-url with a password still works, with a warning naming the variable to
    use instead, and never the password; the variable alone is enough."""
    runner = CliRunner()
    with_password = "postgresql+psycopg://relay:s3cret-Pw@127.0.0.1:1/outbox"  # nobody there
    result = runner.invoke(outbox_commands, ["status", "--database-url", with_password])
    assert result.exit_code == 3, result.output  # still tried: the database is unreachable
    assert "warning: --database-url holds a password" in result.stderr
    assert OUTBOX_URL_VARIABLE in result.stderr
    assert "s3cret-Pw" not in result.output

    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    open_outbox_store(url).create_table()
    quiet = runner.invoke(outbox_commands, ["status", "--json"], env={OUTBOX_URL_VARIABLE: url})
    assert quiet.exit_code == 0, quiet.output
    assert json.loads(quiet.stdout)["backlog"] == 0
    assert "warning" not in quiet.stderr
    without_password = runner.invoke(outbox_commands, ["status", "--database-url", url])
    assert without_password.exit_code == 0, without_password.output
    assert "warning" not in without_password.stderr

    missing = runner.invoke(outbox_commands, ["status"], env={OUTBOX_URL_VARIABLE: ""})
    assert missing.exit_code == 2
    assert f"--database-url or {OUTBOX_URL_VARIABLE}" in missing.stderr


@pytest.mark.parametrize(
    "url", ["postgresql://relay:s3cret-Pw@[::1", "pg:s3cret-Pw", "mysql://relay:s3cret-Pw@h/db"]
)
def test_a_url_that_names_no_outbox_database_is_bad_input_and_never_quoted(url: str) -> None:
    """A malformed URL, one without a scheme, or another database's: exit 2 saying what
    URL is wanted, with no traceback and without quoting it (it may hold a password)."""
    for given in (["--database-url", url], []):
        result = CliRunner().invoke(
            outbox_commands, ["status", *given], env={OUTBOX_URL_VARIABLE: url}
        )
        assert result.exit_code == 2, result.output
        source = "--database-url" if given else OUTBOX_URL_VARIABLE
        assert f"error: {source}: not a PostgreSQL or SQLite URL" in result.stderr
        assert "s3cret-Pw" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
