"""The relay's commands, for any service's CLI to expose over its own database.

:func:`register` adds them to a CLI: ``playball auth relay`` / ``playball auth outbox
status|retry`` are these over the auth database, and ``python -m playball_events.outbox
relay|status|retry`` over any outbox database (tests, other services), named by
``--database-url URL`` or ``PLAYBALL_OUTBOX_DATABASE_URL``. A password in
``--database-url`` is readable by every process of the machine (``/proc/<pid>/cmdline``):
the commands still run, with a warning naming the variable to use instead.
Each ``*_command`` returns the process exit code: 0 ok, 1 nothing to do (no such parked
event, or one whose payload was erased with its user), 2 bad input or settings, 3 the
database is unreachable. Everything but typer is imported inside the commands, so a CLI
registering them at import stays fast to start.
"""

import json
import logging
import os
import sys
import uuid
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from playball_core.address_checks import database_url_problem, holds_password
from playball_core.exits import ExitCode, report_error

# the generic commands' database, when --database-url is not given
OUTBOX_URL_VARIABLE = "PLAYBALL_OUTBOX_DATABASE_URL"


def warn_if_password_in_argv(url: str, variable: str) -> None:
    """Warn (stderr) when ``url``, given on the command line, carries a password; the
    warning names neither the URL nor the password."""
    if holds_password(url):
        sys.stderr.write(
            "warning: --database-url holds a password, and a command line is readable by "
            f"every process on this machine; give the URL in {variable} instead\n"
        )


if TYPE_CHECKING:
    from playball_events.outbox.ports import OutboxStatus, SlotStatus
    from playball_events.outbox.relay_settings import RelaySettings


def relay_command(database_url: str, capture: str | None = None) -> int:
    from playball_core.credentials import end_process_on_refusal  # noqa: PLC0415
    from playball_core.exits import ConfigurationError  # noqa: PLC0415

    from playball_events.outbox.pgoutput import ProtocolError  # noqa: PLC0415
    from playball_events.outbox.ports import SlotLostError  # noqa: PLC0415
    from playball_events.outbox.relay_settings import RelaySettings  # noqa: PLC0415
    from playball_events.outbox.runner import run_relay  # noqa: PLC0415 - pulls Kafka in
    from playball_events.settings import SettingsError, load_settings  # noqa: PLC0415

    try:
        settings = load_settings(RelaySettings)
    except SettingsError as exc:
        report_error(str(exc))
        return ExitCode.BAD_INPUT
    if capture is not None:  # the option wins over PLAYBALL_RELAY_CAPTURE
        settings = settings.model_copy(update={"relay_capture": capture})
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # a broker or the registry refusing the credentials ends the relay (exit 3) at once:
    # retrying cannot help, see playball_core.credentials
    end_process_on_refusal()
    try:
        run_relay(settings, database_url)
    except ConfigurationError as exc:
        report_error(str(exc))
        return ExitCode.BAD_INPUT
    except SlotLostError as exc:
        report_error(str(exc))
        return ExitCode.UNREACHABLE
    except ProtocolError as exc:
        # the same log would stop every log-based relay again: nothing to retry. Nothing
        # is lost either: what was not confirmed stays in the slot and the table.
        report_error(
            f"the log-based relay cannot read the replication stream: {exc}. Nothing after "
            "the last settled batch was confirmed, and the rows stay unsent in the table: "
            "the polling relay sends them (`playball auth relay --capture poll`)"
        )
        return ExitCode.BAD_INPUT
    return ExitCode.OK


def slot_json(slot: "SlotStatus | None") -> dict[str, Any] | None:
    if slot is None:
        return None
    return {
        "name": slot.name,
        "active_pid": slot.active_pid,
        "wal_status": slot.wal_status,
        "lag_bytes": slot.lag_bytes,
        "retained_bytes": slot.retained_bytes,
    }


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


def _mib(size: int | None) -> str:
    return "-" if size is None else f"{size / 2**20:.1f} MiB"


def _slot_text(slot: "SlotStatus | None", name: str, warn_bytes: int) -> str:
    if slot is None:
        return f"slot               none named {name} (log-based capture has not run here)\n"
    who = f"streaming to pid {slot.active_pid}" if slot.active_pid else "idle (no relay reads it)"
    text = (
        f"slot               {slot.name}: {who}, lag {_mib(slot.lag_bytes)}, "
        f"retains {_mib(slot.retained_bytes)}, wal_status {slot.wal_status}\n"
        "                   the log-based relay deletes the rows it delivers once acked:"
        " sent (retained) counts those the table sent\n"
    )
    if slot.wal_status == "lost":
        text += (
            "warning: the slot is lost; drop it (`outbox slot drop --yes`) and restart the "
            "relay, or run the polling relay (`relay --capture poll`)\n"
        )
    elif (slot.retained_bytes or 0) > warn_bytes:
        text += (
            f"warning: the slot holds more WAL than {_mib(warn_bytes)} "
            "(PLAYBALL_RELAY_SLOT_WARN_BYTES): is its relay running? An abandoned slot is "
            "dropped with `outbox slot drop`\n"
        )
    elif slot.active_pid is None:
        text += (
            "note: no relay streams from the slot, so it holds WAL back; drop it with "
            "`outbox slot drop` if log-based capture is no longer used\n"
        )
    return text


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


def _slot_settings() -> "RelaySettings | None":
    from playball_events.outbox.relay_settings import RelaySettings  # noqa: PLC0415
    from playball_events.settings import SettingsError, load_settings  # noqa: PLC0415

    try:
        return load_settings(RelaySettings)
    except SettingsError as exc:
        report_error(str(exc))
        return None


def status_command(database_url: str, *, json_output: bool = False) -> int:
    from playball_events.outbox.capture_wal_sql import slot_status  # noqa: PLC0415
    from playball_events.outbox.ports import StoreUnavailableError  # noqa: PLC0415
    from playball_events.outbox.store_factory_sql import open_outbox_store  # noqa: PLC0415

    settings = _slot_settings()
    if settings is None:
        return ExitCode.BAD_INPUT
    postgres = not database_url.startswith("sqlite")
    store = open_outbox_store(database_url)
    try:
        status = store.status()
        slot_name = settings.slot_for(database_url)
        slot = slot_status(database_url, slot_name) if postgres else None
    except StoreUnavailableError as exc:
        report_error(f"the outbox database is unreachable: {exc}")
        return ExitCode.UNREACHABLE
    finally:
        store.engine.dispose()
    if json_output:
        document = status_json(status)
        if postgres:
            document["slot"] = slot_json(slot)
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        text = _status_text(status)
        if postgres:
            text += _slot_text(slot, slot_name, settings.relay_slot_warn_bytes)
        sys.stdout.write(text)
    return ExitCode.OK


def _refused_drop(database_url: str, slot: str, *, yes: bool) -> int | None:
    """Ask before dropping; the exit code when the answer is no (or cannot be asked)."""
    if database_url.startswith("sqlite"):
        report_error("a SQLite outbox has no replication slot")
        return ExitCode.BAD_INPUT
    if yes:
        return None
    if not sys.stdin.isatty():
        report_error(f"dropping slot {slot} needs --yes (no terminal to ask on)")
        return ExitCode.BAD_INPUT
    if not typer.confirm(
        f"Drop replication slot {slot}? A log-based relay started later creates a new "
        "one and sends the table's unsent rows first",
        default=False,
    ):
        report_error("nothing dropped")
        return ExitCode.CHECK_FAILED
    return None


def slot_drop_command(database_url: str, *, yes: bool) -> int:
    from playball_events.outbox.capture_wal_sql import drop_slot  # noqa: PLC0415
    from playball_events.outbox.ports import SlotBusyError, StoreUnavailableError  # noqa: PLC0415

    settings = _slot_settings()
    if settings is None:
        return ExitCode.BAD_INPUT
    slot = settings.slot_for(database_url)
    refused = _refused_drop(database_url, slot, yes=yes)
    if refused is not None:
        return refused
    try:
        dropped = drop_slot(database_url, slot)
    except StoreUnavailableError as exc:
        report_error(f"the outbox database is unreachable: {exc}")
        return ExitCode.UNREACHABLE
    except SlotBusyError as exc:
        report_error(f"{exc}: stop that relay first (a standby takes the slot over otherwise)")
        return ExitCode.CHECK_FAILED
    if dropped:
        sys.stdout.write(f"dropped replication slot {slot}; the server frees the WAL it held\n")
        return ExitCode.OK
    report_error(f"there is no replication slot named {slot}")
    return ExitCode.CHECK_FAILED


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


class Capture(StrEnum):
    WAL = "wal"
    POLL = "poll"


def register(
    relay_app: typer.Typer,
    outbox_app: typer.Typer,
    resolve_url: Callable[[str | None], str],
    *,
    url_help: str,
    url_variable: str,
) -> None:
    """Add ``relay`` to ``relay_app`` and ``status`` / ``retry`` to ``outbox_app``.

    ``resolve_url`` turns the ``--database-url`` given (None when not) into the URL of
    the outbox's database; ``url_help`` says what the option defaults to, and
    ``url_variable`` is the environment variable to give a URL with a password in.
    """
    url_option = typer.Option("--database-url", metavar="URL", help=url_help)

    def database_url(given: str | None) -> str:
        if given is not None:
            warn_if_password_in_argv(given, url_variable)
        url = resolve_url(given)
        problem = database_url_problem(url)
        if problem is not None:
            report_error(f"{'--database-url' if given is not None else url_variable}: {problem}")
            raise typer.Exit(ExitCode.BAD_INPUT)
        return url

    @relay_app.command("relay")
    def relay(
        url: Annotated[str | None, url_option] = None,
        capture: Annotated[
            Capture | None,
            typer.Option(
                "--capture",
                help="wal: read the outbox's inserts from PostgreSQL's log (a replication "
                "slot); poll: claim them from the table. Default (PLAYBALL_RELAY_CAPTURE "
                "unset): wal where the database allows it, else poll, with a warning.",
            ),
        ] = None,
    ) -> None:
        """Deliver the outbox to Kafka until SIGTERM (settings: PLAYBALL_RELAY_*)."""
        chosen = None if capture is None else capture.value
        raise typer.Exit(relay_command(database_url(url), chosen))

    @outbox_app.command("status")
    def status(
        url: Annotated[str | None, url_option] = None,
        json_output: Annotated[
            bool, typer.Option("--json", help="Print one JSON document.")
        ] = False,
    ) -> None:
        """Backlog, oldest unsent age, and the parked events with their reasons."""
        raise typer.Exit(status_command(database_url(url), json_output=json_output))

    slot_app = typer.Typer(
        help="The log-based relay's replication slot.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    outbox_app.add_typer(slot_app, name="slot")

    @slot_app.command("drop")
    def slot_drop(
        url: Annotated[str | None, url_option] = None,
        yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    ) -> None:
        """Drop the slot (PLAYBALL_RELAY_SLOT) of a relay that is gone, freeing its WAL."""
        raise typer.Exit(slot_drop_command(database_url(url), yes=yes))

    @outbox_app.command("retry")
    def retry(
        event_id: Annotated[str, typer.Argument(help="Id of the parked event to release.")],
        url: Annotated[str | None, url_option] = None,
    ) -> None:
        """Put a parked event back in line after its cause is fixed."""
        raise typer.Exit(retry_command(database_url(url), event_id))


def _given_url(url: str | None) -> str:
    url = url or os.environ.get(OUTBOX_URL_VARIABLE)
    if not url:
        report_error(
            f"--database-url or {OUTBOX_URL_VARIABLE}: give the SQLAlchemy URL of the "
            "outbox's database"
        )
        raise typer.Exit(ExitCode.BAD_INPUT)
    return url


app = typer.Typer(
    help="The outbox relay over one database.", no_args_is_help=True, rich_markup_mode=None
)
register(
    app,
    app,
    _given_url,
    url_help=f"SQLAlchemy URL of the outbox's database (default: {OUTBOX_URL_VARIABLE})",
    url_variable=OUTBOX_URL_VARIABLE,
)
