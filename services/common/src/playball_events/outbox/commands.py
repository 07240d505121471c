"""The relay's commands, for any service's CLI to expose over its own database.

:func:`register` adds them to a CLI: ``playball auth relay`` / ``playball auth outbox
status|retry`` are these over the auth database, and ``python -m playball_events.outbox
relay|status|retry --database-url URL`` over any outbox database (tests, other services).
Each ``*_command`` returns the process exit code: 0 ok, 1 nothing to do (no such parked
event, or one whose payload was erased with its user), 2 bad input or settings, 3 the
database is unreachable. Everything but typer is imported inside the commands, so a CLI
registering them at import stays fast to start.
"""

import json
import logging
import sys
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from playball_core.exits import ExitCode, report_error

if TYPE_CHECKING:
    from playball_events.outbox.ports import OutboxStatus


def relay_command(database_url: str) -> int:
    from playball_core.credentials import end_process_on_refusal  # noqa: PLC0415

    from playball_events.outbox.relay_settings import RelaySettings  # noqa: PLC0415
    from playball_events.outbox.runner import run_relay  # noqa: PLC0415 - pulls Kafka in
    from playball_events.settings import SettingsError, load_settings  # noqa: PLC0415

    try:
        settings = load_settings(RelaySettings)
    except SettingsError as exc:
        report_error(str(exc))
        return ExitCode.BAD_INPUT
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # a broker or the registry refusing the credentials ends the relay (exit 3) at once:
    # retrying cannot help, see playball_core.credentials
    end_process_on_refusal()
    run_relay(settings, database_url)
    return ExitCode.OK


def status_json(status: "OutboxStatus") -> dict[str, Any]:
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
                "payload_erased": p.payload_erased,
            }
            for p in status.parked
        ],
    }


def _status_text(status: "OutboxStatus") -> str:
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
            f"{p.record_type} (attempts {p.attempts}"
            f"{', payload erased: user deleted' if p.payload_erased else ''}): {p.reason}"
        )
    return "\n".join(lines) + "\n"


def status_command(database_url: str, *, json_output: bool = False) -> int:
    from playball_events.outbox.ports import StoreUnavailableError  # noqa: PLC0415
    from playball_events.outbox.store_factory_sql import open_outbox_store  # noqa: PLC0415

    store = open_outbox_store(database_url)
    try:
        status = store.status()
    except StoreUnavailableError as exc:
        report_error(f"the outbox database is unreachable: {exc}")
        return ExitCode.UNREACHABLE
    finally:
        store.engine.dispose()
    if json_output:
        sys.stdout.write(json.dumps(status_json(status), indent=2) + "\n")
    else:
        sys.stdout.write(_status_text(status))
    return ExitCode.OK


def retry_command(database_url: str, event_id: str) -> int:
    from playball_events.outbox.ports import (  # noqa: PLC0415
        PayloadErasedError,
        StoreUnavailableError,
    )
    from playball_events.outbox.store_factory_sql import open_outbox_store  # noqa: PLC0415

    try:
        parsed = uuid.UUID(event_id)
    except ValueError:
        report_error(f"{event_id!r} is not an event id (a UUID)")
        return ExitCode.BAD_INPUT
    store = open_outbox_store(database_url)
    try:
        released = store.retry(parsed)
    except StoreUnavailableError as exc:
        report_error(f"the outbox database is unreachable: {exc}")
        return ExitCode.UNREACHABLE
    except PayloadErasedError as exc:
        report_error(str(exc))
        return ExitCode.CHECK_FAILED
    finally:
        store.engine.dispose()
    if not released:
        report_error(f"no parked event has id {parsed}")
        return ExitCode.CHECK_FAILED
    sys.stdout.write(f"event {parsed} is back in line; the relay delivers it next\n")
    return ExitCode.OK


def register(
    relay_app: typer.Typer,
    outbox_app: typer.Typer,
    database_url: Callable[[str | None], str],
    *,
    url_help: str,
) -> None:
    """Add ``relay`` to ``relay_app`` and ``status`` / ``retry`` to ``outbox_app``.

    ``database_url`` turns the ``--database-url`` given (None when not) into the URL of
    the outbox's database; ``url_help`` says what the option defaults to.
    """
    url_option = typer.Option("--database-url", metavar="URL", help=url_help)

    @relay_app.command("relay")
    def relay(
        url: Annotated[str | None, url_option] = None,
    ) -> None:
        """Deliver the outbox to Kafka until SIGTERM (settings: PLAYBALL_RELAY_*)."""
        raise typer.Exit(relay_command(database_url(url)))

    @outbox_app.command("status")
    def status(
        url: Annotated[str | None, url_option] = None,
        json_output: Annotated[
            bool, typer.Option("--json", help="Print one JSON document.")
        ] = False,
    ) -> None:
        """Backlog, oldest unsent age, and the parked events with their reasons."""
        raise typer.Exit(status_command(database_url(url), json_output=json_output))

    @outbox_app.command("retry")
    def retry(
        event_id: Annotated[str, typer.Argument(help="Id of the parked event to release.")],
        url: Annotated[str | None, url_option] = None,
    ) -> None:
        """Put a parked event back in line after its cause is fixed."""
        raise typer.Exit(retry_command(database_url(url), event_id))


def _given_url(url: str | None) -> str:
    if url is None:
        report_error("--database-url: give the SQLAlchemy URL of the outbox's database")
        raise typer.Exit(ExitCode.BAD_INPUT)
    return url


app = typer.Typer(
    help="The outbox relay over one database.", no_args_is_help=True, rich_markup_mode=None
)
register(app, app, _given_url, url_help="SQLAlchemy URL of the outbox's database (required)")
