"""``playball groups``: migrate, serve, consume, the dead-letter topic, and the privacy scan.

Exit codes: 0 ok, 1 check failed, 2 bad input or configuration, 3 a dependency (database,
broker, registry) is unreachable. Heavy modules are imported inside the commands so
``playball --help`` stays fast.
"""

import logging
from typing import TYPE_CHECKING, Annotated

import typer
from playball_core.exits import ExitCode
from playball_service_kit.cli import command_group, fail, settings_or_exit

if TYPE_CHECKING:
    from playball_service_kit.database_commands_sql import ServiceDatabase

    from playball_groups.settings import GroupsSettings

app = command_group("The groups service: API, user-event consumer, dead-letter topic.")
dlq_app = command_group("Messages the consumer parked on the dead-letter topic.")
app.add_typer(dlq_app, name="dlq")
privacy_app = command_group("What the groups database holds of a user (erasure audits).")
app.add_typer(privacy_app, name="privacy")


def _settings() -> "GroupsSettings":
    from playball_groups.settings import GroupsSettings  # noqa: PLC0415

    return settings_or_exit(GroupsSettings)


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _database(settings: "GroupsSettings") -> "ServiceDatabase":
    from playball_service_kit.database_commands_sql import ServiceDatabase  # noqa: PLC0415

    from playball_groups.adapters import migrate as migrations  # noqa: PLC0415
    from playball_groups.adapters.database import make_engine  # noqa: PLC0415

    return ServiceDatabase(
        service="groups",
        url=settings.effective_database_url,
        variable="PLAYBALL_GROUPS_DATABASE_URL",
        make_engine=make_engine,
        upgrade=migrations.upgrade,
        is_migrated=migrations.is_migrated,
    )


def _require_migrated(settings: "GroupsSettings") -> None:
    from playball_service_kit.database_commands_sql import require_migrated  # noqa: PLC0415

    require_migrated(_database(settings))


@app.command()
def migrate() -> None:
    """Create the groups database when missing, then migrate it to the latest revision."""
    from playball_service_kit.database_commands_sql import migrate as migrate_database  # noqa: PLC0415

    migrate_database(_database(_settings()))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="default: PLAYBALL_GROUPS_PORT")] = None,
) -> None:
    """Run the groups HTTP API (uvicorn)."""
    import uvicorn  # noqa: PLC0415
    from playball_events.gc_tuning import tune_for_service  # noqa: PLC0415

    from playball_groups.entrypoints.bootstrap import build_api  # noqa: PLC0415

    settings = _settings()
    _require_migrated(settings)
    api = build_api(settings)
    tune_for_service()
    uvicorn.run(api, host=host, port=port or settings.groups_port)


@app.command()
def consume() -> None:
    """Apply user events to the view until SIGTERM or Ctrl-C (metrics on 127.0.0.1).

    Exits 1 at PLAYBALL_GROUPS_MAX_CONSECUTIVE_POISON consecutive poison messages of a
    partition (default 100), parking none of them.
    """
    import signal  # noqa: PLC0415

    from playball_core.credentials import end_process_on_refusal  # noqa: PLC0415
    from playball_events.consumer.metrics import ConsumerMetrics, serve_metrics  # noqa: PLC0415
    from playball_events.consumer.poison_runs import PoisonRunLimitError  # noqa: PLC0415
    from playball_events.gc_tuning import tune_for_service  # noqa: PLC0415

    from playball_groups.entrypoints.bootstrap import (  # noqa: PLC0415
        build_consumer,
        build_reader_reporter,
    )

    _logging()
    settings = _settings()
    _require_migrated(settings)
    metrics = ConsumerMetrics(settings.groups_topic)
    if settings.consumer_metrics_port:
        try:
            serve_metrics(metrics, settings.consumer_metrics_port)
        except OSError as exc:
            port = settings.consumer_metrics_port
            fail(f"PLAYBALL_CONSUMER_METRICS_PORT {port} unusable: {exc}", ExitCode.BAD_INPUT)
    # a broker or the registry refusing the credentials ends the consumer (exit 3) at
    # once: retried they never pass, and a refused decode must not park the message
    end_process_on_refusal()
    consumer = build_consumer(settings, metrics=metrics)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: consumer.stop())
    signal.signal(signal.SIGINT, lambda _signum, _frame: consumer.stop())
    logging.getLogger(__name__).info(
        "consuming %s as group %s", settings.groups_topic, settings.groups_consumer_group
    )
    tune_for_service()
    # the reader record: published now, refreshed each minute, stopped_at on the way out
    reporter = build_reader_reporter(settings, metrics)
    reporter.start()
    try:
        consumer.run()
    except PoisonRunLimitError:
        # logged with the run's offsets and first reason; committed up to its first
        # offset, so a restart stops at the same place until the cause is fixed
        raise typer.Exit(ExitCode.CHECK_FAILED) from None
    finally:
        reporter.stop()


@dlq_app.command("list")
def dlq_list(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
) -> None:
    """Show every parked message: where it came from and why it was parked.

    A letter with unreadable dlq.* headers is listed as MALFORMED; control characters
    in anything a letter carries are shown escaped (\\x1b, \\u202e).
    """
    from playball_events.consumer import dlq_report  # noqa: PLC0415
    from playball_events.consumer.dlq_kafka import DeadLetterTopicError, read_parked  # noqa: PLC0415
    from playball_events.kafka_security import kafka_security  # noqa: PLC0415
    from playball_events.terminal_text import escape_lines  # noqa: PLC0415

    settings = _settings()
    try:
        parked = read_parked(
            settings.kafka_bootstrap, settings.dead_letter_topic, security=kafka_security(settings)
        )
    except DeadLetterTopicError as exc:
        fail(escape_lines(str(exc)), ExitCode.UNREACHABLE)
    if as_json:
        typer.echo(dlq_report.as_json(settings.dead_letter_topic, parked))
        return
    for line in dlq_report.as_lines(settings.dead_letter_topic, parked):
        typer.echo(line)


@dlq_app.command("redrive")
def dlq_redrive(
    positions: Annotated[
        list[str] | None, typer.Argument(help="OFFSET (partition 0) or PARTITION:OFFSET")
    ] = None,
    redrive_all: Annotated[bool, typer.Option("--all", help="every parked message")] = False,
) -> None:
    """Send parked messages back to their source topic, once their cause is fixed.

    The source topic is the one the dead-letter topic belongs to (PLAYBALL_GROUPS_TOPIC),
    never the topic a letter's header names: a letter naming another, or malformed, is
    refused by its offset, exit 1, and nothing is sent.
    """
    from playball_events.consumer.dead_letter import parse_position, select  # noqa: PLC0415
    from playball_events.consumer.dlq_kafka import (  # noqa: PLC0415
        DeadLetterTopicError,
        read_parked,
        redrive,
    )
    from playball_events.consumer.redrive_checks import RedriveRefusedError  # noqa: PLC0415
    from playball_events.kafka_security import kafka_security  # noqa: PLC0415
    from playball_events.terminal_text import escape_controls, escape_lines  # noqa: PLC0415

    if redrive_all == bool(positions):
        fail("give either --all or one or more OFFSETs", ExitCode.BAD_INPUT)
    try:
        wanted = None if redrive_all else [parse_position(p) for p in positions or []]
    except ValueError as exc:
        fail(escape_lines(str(exc)), ExitCode.BAD_INPUT)
    settings = _settings()
    security = kafka_security(settings)
    try:
        parked = read_parked(
            settings.kafka_bootstrap, settings.dead_letter_topic, security=security
        )
        chosen = select(parked, wanted)
        if wanted is not None and len(chosen) != len(set(wanted)):
            found = {(p.partition, p.offset) for p in chosen}
            missing = ", ".join(f"{p}:{o}" for p, o in wanted if (p, o) not in found)
            fail(f"not on {settings.dead_letter_topic}: {missing}", ExitCode.BAD_INPUT)
        count = redrive(
            settings.kafka_bootstrap, settings.dead_letter_topic, chosen, security=security
        )
    except RedriveRefusedError as exc:
        fail(escape_lines(str(exc)), ExitCode.CHECK_FAILED)
    except DeadLetterTopicError as exc:
        fail(escape_lines(str(exc)), ExitCode.UNREACHABLE)
    typer.echo(f"redrove {count} message(s) to {escape_controls(settings.groups_topic)}")


@privacy_app.command("scan")
def privacy_scan(
    user_id: Annotated[str, typer.Argument(help="the user's id (a UUID)")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
) -> None:
    """Report each row of the user's personal data: the view, the processed events.

    The groups part of an erasure audit (`playball privacy audit`): field names and rows,
    never values. Exit 0 nothing found, 1 found, 3 the database could not be read.
    """
    import uuid  # noqa: PLC0415

    from playball_events.privacy_scan import exit_code, rendered  # noqa: PLC0415

    from playball_groups.adapters.privacy_scan_sql import scan_user  # noqa: PLC0415
    from playball_groups.entrypoints.bootstrap import engine_for  # noqa: PLC0415

    try:
        wanted = uuid.UUID(user_id)
    except ValueError:
        fail(f"{user_id!r} is not a user id (a UUID)", ExitCode.BAD_INPUT)
    engine = engine_for(_settings())
    try:
        report = scan_user(engine, wanted)
    finally:
        engine.dispose()
    typer.echo(rendered(report, as_json=as_json))
    raise typer.Exit(exit_code(report))
