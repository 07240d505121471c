"""``playball privacy``: the erasure bound, and the erasure audit of one user.

``bound`` exits 0 with the number, 1 when a topic or setting it needs is missing, 2 on
bad settings, 3 when no broker answers. ``audit`` exits 0 when no place holds the user's
personal data, 1 when one does, 2 on bad input, 3 when a place could not be read (and
none was found elsewhere: found data is the stronger news); it names each place. Neither
ever prints a personal value: places, positions and field names only. Heavy modules are
imported inside the commands, so ``playball --help`` stays fast.
"""

import uuid
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
from playball_core.exits import ExitCode, report_error

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

    from playball_privacy.bound import Bound

S = TypeVar("S", bound="BaseSettings")

app = typer.Typer(
    help="Erasure of personal data: how long it may stay, and where it still is.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
)

TopicOption = Annotated[
    list[str] | None,
    typer.Option(
        "--topic", help="a contract topic (with its .dlq); repeatable; default: the manifest's"
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="one JSON document")]


def _fail(message: str, code: ExitCode) -> NoReturn:
    report_error(message)
    raise typer.Exit(code)


def _settings(settings_class: type[S]) -> S:
    from playball_events.settings import SettingsError, load_settings  # noqa: PLC0415

    try:
        return load_settings(settings_class)
    except SettingsError as exc:
        _fail(str(exc), ExitCode.BAD_INPUT)


def _topics(given: list[str] | None) -> list[str]:
    if given:
        return given
    from playball_events.contracts.topics import ALL_TOPICS  # noqa: PLC0415 - generated

    return [topic.name for topic in ALL_TOPICS]


@app.command()
def bound(topic: TopicOption = None, as_json: JsonOption = False) -> None:
    """How long a deleted user's personal data may stay, from the settings in force.

    The relay's retention and cleanup interval and the markers' pace from the
    environment (PLAYBALL_RELAY_*, PLAYBALL_TOPIC_SEGMENT_MS), the topics' segment.ms and
    max.compaction.lag.ms and the brokers' log.cleaner.backoff.ms from the cluster.
    """
    import json  # noqa: PLC0415

    computed = _bound(_topics(topic))
    if as_json:
        typer.echo(json.dumps(computed.to_json(), indent=2))
        return
    for line in computed.lines():
        typer.echo(line)


def _bound(topics: list[str]) -> "Bound":
    from playball_events.kafka_security import kafka_security  # noqa: PLC0415
    from playball_events.outbox.relay_settings import RelaySettings  # noqa: PLC0415
    from playball_events.topics_admin_kafka import (  # noqa: PLC0415 - librdkafka
        BrokerUnreachableError,
        TopicAdminError,
        TopicsAdmin,
    )

    from playball_privacy.bound import (  # noqa: PLC0415
        CLEANER_BACKOFF_MS,
        BoundError,
        dead_letter_pairs,
        erasure_bound,
    )

    settings = _settings(RelaySettings)
    admin = TopicsAdmin(settings.kafka_bootstrap, security=kafka_security(settings))
    try:
        configs = admin.topic_configs(dead_letter_pairs(topics))
        backoffs = admin.broker_configs(CLEANER_BACKOFF_MS)
        return erasure_bound(
            retention_seconds=settings.relay_retention_seconds,
            cleanup_interval_seconds=settings.relay_cleanup_interval,
            marker_interval_seconds=settings.marker_interval_seconds(),
            env_segment_ms=settings.topic_segment_ms,
            topic_configs=configs,
            cleaner_backoff_ms=backoffs,
        )
    except BrokerUnreachableError as exc:
        _fail(str(exc), ExitCode.UNREACHABLE)
    except (TopicAdminError, BoundError) as exc:
        _fail(str(exc), ExitCode.CHECK_FAILED)


@app.command("audit")
def audit_command(
    user_id: Annotated[str, typer.Argument(help="the user's id (a UUID)")],
    topic: TopicOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every place that still holds the user's personal data: row, offset, field names.

    Runs `playball auth privacy scan` and `playball groups privacy scan` (each service
    scans its own database) and reads each topic and its .dlq for the user's key, as the
    principal of the environment (the admin, run by hand against the local stack).
    """
    from playball_events.contracts.topics import ALL_TOPICS  # noqa: PLC0415
    from playball_events.kafka_security import kafka_security  # noqa: PLC0415
    from playball_events.privacy_scan import Place, exit_code, rendered  # noqa: PLC0415
    from playball_events.serde import AvroRecord, RecordDeserializer  # noqa: PLC0415
    from playball_events.settings import RuntimeSettings  # noqa: PLC0415

    from playball_privacy.audit import audit  # noqa: PLC0415
    from playball_privacy.bound import dead_letter_pairs  # noqa: PLC0415
    from playball_privacy.topic_scan_kafka import scan_topic  # noqa: PLC0415

    try:
        wanted = uuid.UUID(user_id)
    except ValueError:
        _fail(f"{user_id!r} is not a user id (a UUID)", ExitCode.BAD_INPUT)
    settings = _settings(RuntimeSettings)
    security = kafka_security(settings)
    registry = settings.registry_client()
    # any schema id the registry knows, not only the topic's subjects': a forged or
    # misfiled message with the user's key may hold personal data just the same
    records = [subject.record for known in ALL_TOPICS for subject in known.subjects]
    decoder: RecordDeserializer[AvroRecord] = RecordDeserializer(registry, records)
    key = str(wanted).encode()

    def topic_places() -> list[Place]:
        return [
            scan_topic(settings.kafka_bootstrap, name, key, decoder.deserialize, security=security)
            for name in dead_letter_pairs(_topics(topic))
        ]

    try:
        report = audit(wanted, topic_places)
    finally:
        registry.close()
    typer.echo(rendered(report, as_json=as_json))
    raise typer.Exit(exit_code(report))
