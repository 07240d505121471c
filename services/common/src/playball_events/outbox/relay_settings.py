"""The relay's knobs, ``PLAYBALL_RELAY_*`` beside the runtime addresses, and the topics'
``PLAYBALL_TOPIC_*`` settings, whose ``segment.ms`` paces the relay's roll markers."""

import re
from datetime import timedelta
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from playball_events.outbox.relay import RelayConfig
from playball_events.outbox.wal_relay import WalConfig
from playball_events.settings import RuntimeSettings
from playball_events.topic_settings import TopicSettings

DEFAULT_METRICS_PORT = 18181


def default_slot_name(database_url: str) -> str:
    """``playball_outbox_<database>``: slots are named server-wide but tied to a database,
    so two services' (or two test systems') relays on one server never share one."""
    database = urlsplit(database_url).path.lstrip("/") or "postgres"
    return ("playball_outbox_" + re.sub(r"[^a-z0-9_]", "_", database.lower()))[:63]


class RelaySettings(RuntimeSettings, TopicSettings):
    relay_capture: Literal["poll", "wal"] | None = Field(
        default=None,
        description="how the relay finds new rows: wal (log-based, from a replication slot) "
        "or poll (claims from the table); unset: wal when the database allows it (PostgreSQL "
        "with wal_level=logical, a role with REPLICATION, the publication), else poll",
    )
    relay_slot: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9_]{1,63}$",
        description="the logical replication slot of log-based capture, created when missing "
        "(slots are the server's, each tied to one database; unset: playball_outbox_<database>)",
    )
    relay_slot_warn_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=0,
        description="warn (log, outbox status) when the slot holds back more WAL than this",
    )
    relay_batch_size: int = Field(
        default=2000, ge=1, le=50_000, description="events claimed and sent per batch"
    )
    relay_poll_interval: float = Field(
        default=0.5, gt=0, le=60, description="seconds between polls when no NOTIFY arrives"
    )
    relay_lease_seconds: float = Field(
        default=60.0, gt=0, description="how long a claim is held before another relay may take it"
    )
    relay_delivery_timeout_ms: int = Field(
        default=30_000, ge=1000, description="producer message.timeout.ms: ack or fail by then"
    )
    relay_retention_seconds: float = Field(
        default=86_400.0, ge=0, description="how long delivered rows are kept before cleanup"
    )
    relay_cleanup_interval: float = Field(
        default=60.0, gt=0, description="seconds between cleanup rounds"
    )
    relay_backoff_max_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="longest pause between retries after failures (a broker or registry "
        "outage): also how late, at most, delivery resumes once it is back",
    )
    relay_metrics_port: int = Field(
        default=DEFAULT_METRICS_PORT, ge=0, le=65535, description="Prometheus port; 0 disables"
    )
    relay_roll_topics: str = Field(
        default="",
        description="comma-separated topics whose partitions the relay keeps rolling with "
        "roll markers, every PLAYBALL_TOPIC_SEGMENT_MS / 2 (default: the manifest's topics)",
    )

    @model_validator(mode="after")
    def _lease_outlasts_delivery(self) -> Self:
        # A lease shorter than the delivery timeout hands rows to a second relay while the
        # first may still deliver them: duplicates for nothing.
        if self.relay_lease_seconds * 1000 <= self.relay_delivery_timeout_ms:
            msg = (
                f"lease ({self.relay_lease_seconds} s) must be longer than the delivery "
                f"timeout ({self.relay_delivery_timeout_ms} ms)"
            )
            raise ValueError(msg)
        return self

    def roll_topics(self) -> list[str]:
        """The topics the relay writes roll markers to."""
        named = [name.strip() for name in self.relay_roll_topics.split(",") if name.strip()]
        if named:
            return named
        from playball_events.contracts.topics import ALL_TOPICS  # noqa: PLC0415 - generated

        return [topic.name for topic in ALL_TOPICS]

    def slot_for(self, database_url: str) -> str:
        """The slot's name: the setting, or one derived from the database's name."""
        return self.relay_slot or default_slot_name(database_url)

    def wal_config(self) -> WalConfig:
        return WalConfig(self.relay_config(), max_retained_bytes=self.relay_slot_warn_bytes)

    def relay_config(self) -> RelayConfig:
        return RelayConfig(
            batch_size=self.relay_batch_size,
            poll_interval=self.relay_poll_interval,
            lease=timedelta(seconds=self.relay_lease_seconds),
            retention=timedelta(seconds=self.relay_retention_seconds),
            cleanup_interval=self.relay_cleanup_interval,
            backoff_max=self.relay_backoff_max_seconds,
        )
