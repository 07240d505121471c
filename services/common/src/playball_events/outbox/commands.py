"""The relay's commands, for any service's CLI to expose over its own database.

``playball auth relay`` / ``playball auth outbox status|retry`` are these, given the auth
database's URL. Each returns the process exit code: 0 ok, 1 nothing to do (no such
parked event), 2 bad input or settings, 3 the database is unreachable.
``python -m playball_events.outbox --database-url URL relay|status|retry`` runs them
directly (tests, other services).
"""

import json
import logging
import sys
import uuid
from typing import Annotated, Any

import typer

from playball_events.outbox.ports import OutboxStatus, StoreUnavailableError
from playball_events.settings import SettingsError, load_settings

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_UNREACHABLE = 0, 1, 2, 3


def _error(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")


def relay_command(database_url: str) -> int:
    from playball_events.outbox.relay_settings import RelaySettings  # noqa: PLC0415
    from playball_events.outbox.runner import run_relay  # noqa: PLC0415 - pulls Kafka in

    try:
        settings = load_settings(RelaySettings)
    except SettingsError as exc:
        _error(str(exc))
        return EXIT_INVALID
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    run_relay(settings, database_url)
    return EXIT_OK


def status_json(status: OutboxStatus) -> dict[str, Any]:
    age = status.oldest_unsent_age
    return {
        "backlog": status.backlog,
        "oldest_unsent_age_seconds": None if age is None else round(age.total_seconds(), 3),
        "parked_count": status.parked_count,
        "sent_retained": status.sent,
        "parked": [
            {
                "event_id": str(p.event_id),
                "user_id": p.aggregate_id,
                "user_version": p.aggregate_version,
                "event_type": p.record_type,
                "attempts": p.attempts,
                "reason": p.reason,
                "created_at": p.created_at.isoformat(),
            }
            for p in status.parked
        ],
    }


def _status_text(status: OutboxStatus) -> str:
    age = status.oldest_unsent_age
    lines = [
        f"backlog            {status.backlog}",
        f"oldest unsent age  {'-' if age is None else f'{age.total_seconds():.1f} s'}",
        f"parked             {status.parked_count}",
        f"sent (retained)    {status.sent}",
    ]
    for p in status.parked:
        lines.append(
            f"  parked {p.event_id} user {p.aggregate_id} v{p.aggregate_version} "
            f"{p.record_type} (attempts {p.attempts}): {p.reason}"
        )
    return "\n".join(lines) + "\n"


def status_command(database_url: str, *, json_output: bool = False) -> int:
    from playball_events.outbox.store_sql import SqlOutboxStore  # noqa: PLC0415

    store = SqlOutboxStore.from_url(database_url)
    try:
        status = store.status()
    except StoreUnavailableError as exc:
        _error(f"the outbox database is unreachable: {exc}")
        return EXIT_UNREACHABLE
    finally:
        store.engine.dispose()
    if json_output:
        sys.stdout.write(json.dumps(status_json(status), indent=2) + "\n")
    else:
        sys.stdout.write(_status_text(status))
    return EXIT_OK


def retry_command(database_url: str, event_id: str) -> int:
    from playball_events.outbox.store_sql import SqlOutboxStore  # noqa: PLC0415

    try:
        parsed = uuid.UUID(event_id)
    except ValueError:
        _error(f"{event_id!r} is not an event id (a UUID)")
        return EXIT_INVALID
    store = SqlOutboxStore.from_url(database_url)
    try:
        released = store.retry(parsed)
    except StoreUnavailableError as exc:
        _error(f"the outbox database is unreachable: {exc}")
        return EXIT_UNREACHABLE
    finally:
        store.engine.dispose()
    if not released:
        _error(f"no parked event has id {parsed}")
        return EXIT_FAILED
    sys.stdout.write(f"event {parsed} is back in line; the relay delivers it next\n")
    return EXIT_OK


app = typer.Typer(
    help="The outbox relay over one database.", no_args_is_help=True, rich_markup_mode=None
)
DatabaseUrl = Annotated[str, typer.Option("--database-url", help="SQLAlchemy URL of the outbox")]


@app.command()
def relay(database_url: DatabaseUrl) -> None:
    """Deliver the outbox to Kafka until SIGTERM."""
    raise typer.Exit(relay_command(database_url))


@app.command()
def status(
    database_url: DatabaseUrl, json_output: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Backlog, oldest unsent age, parked events with their reasons."""
    raise typer.Exit(status_command(database_url, json_output=json_output))


@app.command()
def retry(database_url: DatabaseUrl, event_id: str) -> None:
    """Put a parked event back in line."""
    raise typer.Exit(retry_command(database_url, event_id))
