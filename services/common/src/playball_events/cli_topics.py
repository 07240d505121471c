"""`playball topics ensure`: create the contracts' topics and their dead-letter topics.

Exit codes: 0 every topic is there as wanted, 1 an existing topic's settings differ
(reported, not changed), 2 bad input, 3 no broker answered.
"""

import os
import sys
from collections.abc import Sequence
from typing import Annotated, TextIO

import typer
from playball_core.addresses import DEFAULT_KAFKA_BOOTSTRAP
from playball_core.exits import ExitCode, report_error

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


def manifest_topics() -> list[str]:
    from playball_events.contracts.topics import ALL_TOPICS  # noqa: PLC0415 - generated

    return [topic.name for topic in ALL_TOPICS]


def ensure_topics(
    topics: Sequence[str] | None = None,
    bootstrap: str | None = None,
    *,
    out: TextIO | None = None,
) -> int:
    """Ensure ``topics`` (default: the manifest's) and their .dlq; print what happened.

    Also the hook `playball schemas register` calls after registering, with the topics of
    the manifest it registered.
    """
    from playball_events.topics_admin_kafka import (  # noqa: PLC0415 - pulls librdkafka in
        BrokerUnreachableError,
        TopicAdminError,
        TopicsAdmin,
    )

    stream = out or sys.stdout
    address = bootstrap or os.environ.get(BOOTSTRAP_VARIABLE) or DEFAULT_KAFKA_BOOTSTRAP
    try:
        report = TopicsAdmin(address).ensure(list(topics) if topics else manifest_topics())
    except BrokerUnreachableError as exc:
        report_error(str(exc))
        return ExitCode.UNREACHABLE
    except TopicAdminError as exc:
        report_error(str(exc))
        return ExitCode.CHECK_FAILED
    for name in report.created:
        stream.write(f"created   topic {name}\n")
    for name in report.existing:
        stream.write(f"exists    topic {name}\n")
    for diff in report.differences:
        stream.write(
            f"differs   topic {diff.topic}: {diff.setting} is {diff.actual}, wanted {diff.wanted}\n"
        )
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
) -> None:
    """Create the manifest's topics and their .dlq with explicit settings; idempotent."""
    raise typer.Exit(ensure_topics(topic, bootstrap))
