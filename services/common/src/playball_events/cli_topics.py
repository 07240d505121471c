"""`playball topics ensure`: create the contracts' topics and their dead-letter topics,
and grant the relay's and the consumer's principals their ACLs on them.

Exit codes: 0 every topic is there as wanted, 1 an existing topic's settings differ
(reported, not changed; with ``--apply-configs`` only its partitions or replication
factor, which are never changed), 2 bad input, 3 no broker answered.
"""

import os
import sys
from collections.abc import Sequence
from typing import Annotated, TextIO

import typer
from playball_core.address_checks import check_bootstrap
from playball_core.addresses import DEFAULT_KAFKA_BOOTSTRAP
from playball_core.exits import ExitCode, report_error

from playball_events.message_limits import (
    DEFAULT_MAX_MESSAGE_BYTES,
    MAX_MESSAGE_BYTES_VARIABLE,
    parse_max_message_bytes,
)

app = typer.Typer(
    help="Kafka topics of the contracts (created by the project, never by the broker).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.callback()
def topics() -> None:
    """Kafka topics of the contracts (created by the project, never by the broker)."""
    # A callback keeps `ensure` a sub-command even while it is the only one.


BOOTSTRAP_VARIABLE = "PLAYBALL_KAFKA_BOOTSTRAP"
CONSUMER_GROUP_VARIABLE = "PLAYBALL_GROUPS_CONSUMER_GROUP"
READERS_TOPIC_VARIABLE = "PLAYBALL_READERS_TOPIC"


def manifest_topics() -> list[str]:
    from playball_events.contracts.topics import ALL_TOPICS  # noqa: PLC0415 - generated

    return [topic.name for topic in ALL_TOPICS]


def _address_and_limit(bootstrap: str | None) -> tuple[str, int]:
    """The brokers to ask and the topics' max.message.bytes; ValueError naming the option
    or variable that is wrong."""
    address = bootstrap or os.environ.get(BOOTSTRAP_VARIABLE) or DEFAULT_KAFKA_BOOTSTRAP
    try:
        check_bootstrap(address)
    except ValueError as exc:
        msg = f"{'--bootstrap' if bootstrap else BOOTSTRAP_VARIABLE}: {exc}"
        raise ValueError(msg) from None
    limit = os.environ.get(MAX_MESSAGE_BYTES_VARIABLE)
    if limit is None:
        return address, DEFAULT_MAX_MESSAGE_BYTES
    return address, parse_max_message_bytes(limit)


def ensure_topics(
    topics: Sequence[str] | None = None,
    bootstrap: str | None = None,
    *,
    out: TextIO | None = None,
    apply_configs: bool = False,
) -> int:
    """Ensure ``topics`` (default: the manifest's) and their .dlq; print what happened.

    Also the hook `playball schemas register` calls after registering, with the topics of
    the manifest it registered. ``max.message.bytes`` comes from
    ``PLAYBALL_KAFKA_MAX_MESSAGE_BYTES`` (default 1 MiB; the .dlq gets 64 KiB more), the
    compaction settings that bound erasure from ``PLAYBALL_TOPIC_*``
    (:mod:`playball_events.topic_settings`), the client's security from
    ``PLAYBALL_KAFKA_SECURITY_PROTOCOL`` and the rest.
    """
    from playball_events.kafka_security import kafka_security_from_environment  # noqa: PLC0415
    from playball_events.readers.readers_kafka import (  # noqa: PLC0415
        ReadersTopicError,
        ensure_readers_topic,
    )
    from playball_events.service_principals import (  # noqa: PLC0415
        DEFAULT_CONSUMER_GROUP,
        DEFAULT_READERS_TOPIC,
        ServicePrincipals,
    )
    from playball_events.settings import SettingsError  # noqa: PLC0415
    from playball_events.topic_settings import load_topic_settings  # noqa: PLC0415
    from playball_events.topics_acls_kafka import AclAdminError  # noqa: PLC0415
    from playball_events.topics_admin_kafka import (  # noqa: PLC0415 - pulls librdkafka in
        STRUCTURE,
        BrokerUnreachableError,
        TopicAdminError,
        TopicsAdmin,
    )

    stream = out or sys.stdout
    try:
        address, max_message_bytes = _address_and_limit(bootstrap)
    except ValueError as exc:
        report_error(str(exc))
        return ExitCode.BAD_INPUT
    try:
        security = kafka_security_from_environment()
        retention = load_topic_settings().topic_config()
    except SettingsError as exc:
        report_error(str(exc))
        return ExitCode.BAD_INPUT
    wanted = list(topics) if topics else manifest_topics()
    principals = ServicePrincipals(
        consumer_group=os.environ.get(CONSUMER_GROUP_VARIABLE) or DEFAULT_CONSUMER_GROUP,
        readers_topic=os.environ.get(READERS_TOPIC_VARIABLE) or DEFAULT_READERS_TOPIC,
    )
    try:
        admin = TopicsAdmin(address, security=security)
        report = admin.ensure(
            wanted,
            apply_configs=apply_configs,
            max_message_bytes=max_message_bytes,
            retention=retention,
        )
        authorized = admin.grant_service_acls(wanted, principals)
        # with the manifest's topics, the readers topic (compacted, 1 partition, no .dlq)
        readers_topic = [] if topics else [principals.readers_topic]
        for name in readers_topic:
            created = ensure_readers_topic(address, name, security=security)
            (report.created if created else report.existing).append(name)
    except BrokerUnreachableError as exc:
        report_error(str(exc))
        return ExitCode.UNREACHABLE
    except (TopicAdminError, AclAdminError, ReadersTopicError) as exc:
        report_error(str(exc))
        return ExitCode.CHECK_FAILED
    for name in report.created:
        stream.write(f"created   topic {name}\n")
    for name in report.existing:
        stream.write(f"exists    topic {name}\n")
    for diff in report.altered:
        stream.write(
            f"altered   topic {diff.topic}: {diff.setting} was {diff.actual}, now {diff.wanted}\n"
        )
    for diff in report.differences:
        stream.write(
            f"differs   topic {diff.topic}: {diff.setting} is {diff.actual}, wanted {diff.wanted}\n"
        )
    if not authorized:
        stream.write("(the cluster has no authorizer: no ACLs granted)\n")
    for name in wanted if authorized else ():
        stream.write(
            f"granted   topic {name}: write to {principals.relay}, read (group "
            f"{principals.consumer_group}) and .dlq write to {principals.consumer}\n"
        )
    if any(diff.setting not in STRUCTURE for diff in report.differences):
        stream.write("(`playball topics ensure --apply-configs` changes the configuration)\n")
    return ExitCode.CHECK_FAILED if report.differences else ExitCode.OK


@app.command()
def ensure(
    bootstrap: Annotated[
        str | None,
        typer.Option(
            "--bootstrap", help="Kafka bootstrap servers (default: PLAYBALL_KAFKA_BOOTSTRAP)."
        ),
    ] = None,
    topic: Annotated[
        list[str] | None,
        typer.Option("--topic", help="Ensure this topic instead of the manifest's (repeatable)."),
    ] = None,
    apply_configs: Annotated[
        bool,
        typer.Option(
            "--apply-configs",
            help="Change differing configuration entries of existing topics (never their "
            "partitions or replication factor).",
        ),
    ] = False,
) -> None:
    """Create the manifest's topics and their .dlq with explicit settings; idempotent.

    An existing topic's differing settings are reported (exit 1); --apply-configs changes
    its configuration entries to the wanted ones.
    """
    raise typer.Exit(ensure_topics(topic, bootstrap, apply_configs=apply_configs))
