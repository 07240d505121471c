"""Wiring: the API and the consumer built from settings (the only place adapters meet)."""

from typing import TYPE_CHECKING, Any

from playball_groups.settings import AUDIENCE, GroupsSettings

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI
    from playball_events.consumer.loop import EventConsumer
    from playball_events.consumer.metrics import ConsumerMetrics
    from playball_events.consumer.ports import ApplyOutcome
    from playball_events.readers.reporter import ReaderReporter

    from playball_groups.adapters.database import Engine
    from playball_groups.adapters.jwks import JwksTokenVerifier
    from playball_groups.domain.user_view import UserEvent
    from playball_groups.service_layer.user_events import ViewLimits


def engine_for(settings: GroupsSettings, *, ping: bool = True) -> "Engine":
    """The view's engine; ``ping=False`` skips the liveness round trip per checkout."""
    from playball_groups.adapters.database import make_engine  # noqa: PLC0415

    return make_engine(settings.effective_database_url, pool_pre_ping=ping)


def build_api(settings: GroupsSettings, engine: "Engine | None" = None) -> "FastAPI":
    from playball_core.instance import instance_nonce  # noqa: PLC0415
    from playball_service_kit.database_sql import is_disconnect, is_reachable  # noqa: PLC0415

    from playball_groups.adapters.unit_of_work import SqlUnitOfWork  # noqa: PLC0415
    from playball_groups.entrypoints.api import create_app  # noqa: PLC0415

    engine = engine if engine is not None else engine_for(settings)
    return create_app(
        lambda: SqlUnitOfWork(engine),
        token_verifier(settings),
        is_unavailable=is_disconnect,
        health=lambda: is_reachable(engine),
        max_body=settings.groups_max_body,
        instance=instance_nonce(),
    )


def token_verifier(settings: GroupsSettings) -> "JwksTokenVerifier":
    """Auth's tokens, checked against its JWKS. Over https with PLAYBALL_AUTH_CA_LOCATION,
    the JWKS server must hold a certificate of that CA for the URL's host: whatever else
    binds auth's port (while auth is down) cannot hand groups its own keys."""
    import ssl  # noqa: PLC0415

    from playball_groups.adapters.jwks import JwksTokenVerifier  # noqa: PLC0415

    context = None
    if settings.auth_ca_location is not None:
        # only that CA, not the system's store too; CERT_REQUIRED and host name checks on
        context = ssl.create_default_context(cafile=str(settings.auth_ca_location))
    return JwksTokenVerifier(
        settings.jwks_url, issuer=settings.issuer, audience=AUDIENCE, ssl_context=context
    )


def build_consumer(
    settings: GroupsSettings,
    *,
    engine: "Engine | None" = None,
    metrics: "ConsumerMetrics | None" = None,
    limits: "ViewLimits | None" = None,
    on_applied: "Callable[[ApplyOutcome[UserEvent]], None] | None" = None,
) -> "EventConsumer[UserEvent, Any]":
    from playball_events.consumer.dead_letters_kafka import KafkaDeadLetters  # noqa: PLC0415
    from playball_events.consumer.loop import EventConsumer  # noqa: PLC0415
    from playball_events.consumer.metrics import ConsumerMetrics  # noqa: PLC0415
    from playball_events.consumer.processed_sql import SqlProcessedEvents  # noqa: PLC0415
    from playball_events.consumer.source_kafka import KafkaSource, consumer_config  # noqa: PLC0415
    from playball_events.consumer.transient_sql import (  # noqa: PLC0415
        is_transient_database_error,
    )
    from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1  # noqa: PLC0415
    from playball_events.kafka_security import kafka_security  # noqa: PLC0415
    from playball_events.roll_markers import RollMarking  # noqa: PLC0415
    from playball_events.serde import RecordDeserializer  # noqa: PLC0415

    from playball_groups.adapters.tables import processed_events  # noqa: PLC0415
    from playball_groups.adapters.unit_of_work import repositories_on  # noqa: PLC0415
    from playball_groups.adapters.user_view_sql import view_upserts_for  # noqa: PLC0415
    from playball_groups.service_layer.user_events import (  # noqa: PLC0415
        UserEventHandler,
        ViewLimits,
    )

    # No ping per batch: it is a round trip on every transaction's path, and the loop
    # already treats a dropped connection as transient (the batch is rewound and retried
    # on a fresh connection), so a restarted database costs one retry instead.
    engine = engine if engine is not None else engine_for(settings, ping=False)
    topic = settings.groups_topic
    registry = settings.registry_client()
    security = kafka_security(settings)
    # Given the topic, the decoder reads only schema ids registered under its subjects.
    decoder: RecordDeserializer[UserEvent] = RecordDeserializer(
        registry, PLAYBALL_AUTH_USER_EVENTS_V1.records, topic=topic
    )
    handler = UserEventHandler(
        repositories_on,
        # retried: connection errors, timeouts, SQLSTATE 08, 40001, 40P01, 53, 57P0x;
        # anything else a batch fails with is the events' (applied one by one, parked)
        is_transient=is_transient_database_error,
        limits=limits or ViewLimits(),
        upserts=view_upserts_for(engine),
    )
    dead_letters = KafkaDeadLetters(
        settings.kafka_bootstrap,
        {topic: settings.dead_letter_topic},
        max_message_bytes=settings.kafka_max_message_bytes,
        security=security,
    )
    return EventConsumer(
        KafkaSource(
            consumer_config(
                settings.kafka_bootstrap,
                settings.groups_consumer_group,
                **{"session.timeout.ms": settings.groups_session_timeout_ms},
            ),
            [topic],
            security=security,
        ),
        decoder,
        handler,
        dead_letters,
        metrics or ConsumerMetrics(topic),
        processed=SqlProcessedEvents(engine, processed_events),
        batch_size=settings.groups_batch_size,
        max_consecutive_poison=settings.groups_max_consecutive_poison,
        on_applied=on_applied,
        on_close=[registry.close],
        # the dead-letter topic gets a marker per partition each segment.ms / 2: a user's
        # letters are compacted away even when nothing else is parked after the deletion
        marking=RollMarking(dead_letters.roll_markers([topic]), settings.marker_interval_seconds()),
    )


# The name the groups consumer reports itself under on the readers topic.
CONSUMER_SERVICE = "groups-consumer"


def build_reader_reporter(settings: GroupsSettings, metrics: "ConsumerMetrics") -> "ReaderReporter":
    """The consumer's reader record: the generated classes it decodes the topic with."""
    from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1  # noqa: PLC0415
    from playball_events.readers.wiring import reader_reporter  # noqa: PLC0415

    return reader_reporter(
        settings,
        service=CONSUMER_SERVICE,
        distribution="playball-groups",
        consumer_group=settings.groups_consumer_group,
        topic=settings.groups_topic,
        classes=PLAYBALL_AUTH_USER_EVENTS_V1.records,
        on_outcome=metrics.reader_published,
    )
