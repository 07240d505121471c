"""Asking a Kafka broker for cluster metadata: the one health probe that proves it serves."""

from collections.abc import Mapping

from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import KafkaException


def broker_ids(
    bootstrap: str, timeout: float = 3.0, *, config: Mapping[str, str] | None = None
) -> set[int] | None:
    """Ids of the brokers the cluster reports, or None when nobody answers in time.

    ``config``: more client settings, the security ones of a secured cluster.
    """
    admin = AdminClient(
        {
            "bootstrap.servers": bootstrap,
            "socket.connection.setup.timeout.ms": int(timeout * 1000),
            "log_level": 0,  # a broker that is still starting is expected, not news
            **(config or {}),
        }
    )
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException:
        return None
    return set(metadata.brokers)
