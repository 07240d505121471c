"""The groups service's settings, from ``PLAYBALL_*`` variables (see the README's table)."""

import ssl
from pathlib import Path
from typing import ClassVar

from playball_core.local_stack import KAFKA_ADMIN, POSTGRES_GROUPS
from playball_core.manifest import dead_letter_topic
from playball_events.consumer.metrics import DEFAULT_METRICS_PORT
from playball_events.consumer.poison_runs import DEFAULT_MAX_CONSECUTIVE_POISON
from playball_events.contracts.topics import PLAYBALL_AUTH_USER_EVENTS_V1
from playball_events.message_limits import (
    DEFAULT_MAX_MESSAGE_BYTES,
    LARGEST_MAX_MESSAGE_BYTES,
    SMALLEST_MAX_MESSAGE_BYTES,
)
from playball_events.service_principals import DEFAULT_CONSUMER_GROUP
from playball_events.settings import DatabaseUrl, HttpUrl, RuntimeSettings, with_database
from playball_events.topic_settings import TopicSettings
from pydantic import Field, FilePath, ValidationInfo, field_validator

DATABASE_NAME = "playball_groups"
DEFAULT_PORT = 18280
DEFAULT_AUTH_URL = "http://127.0.0.1:18180"
AUDIENCE = "playball-groups"


# TopicSettings: the consumer paces the dead-letter topic's roll markers by its segment.ms
class GroupsSettings(RuntimeSettings, TopicSettings):
    local_credentials: ClassVar[tuple[str, ...]] = (KAFKA_ADMIN, POSTGRES_GROUPS)

    groups_database_url: DatabaseUrl | None = Field(
        default=None,
        description="SQLAlchemy URL of the groups database; default: database "
        f"{DATABASE_NAME!r} on DATABASE_URL's server. sqlite:///path works too",
    )
    groups_port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    auth_url: HttpUrl = Field(
        default=DEFAULT_AUTH_URL,
        description="the auth API's base URL: the tokens' expected issuer, and where the JWKS is",
    )
    auth_ca_location: FilePath | None = Field(
        default=None,
        description="PEM file of the CA(s) an https PLAYBALL_AUTH_URL's certificate must chain "
        "to (the host name is checked too); default: the system's trust store",
    )
    consumer_metrics_port: int = Field(default=DEFAULT_METRICS_PORT, ge=0, le=65535)
    groups_consumer_group: str = Field(default=DEFAULT_CONSUMER_GROUP, min_length=1)
    groups_topic: str = Field(default=PLAYBALL_AUTH_USER_EVENTS_V1.name, min_length=1)
    groups_batch_size: int = Field(default=5000, ge=1, le=100_000)
    groups_max_consecutive_poison: int = Field(
        default=DEFAULT_MAX_CONSECUTIVE_POISON,
        ge=1,
        description="the consumer stops (exit 1) at this many consecutive poison messages "
        "of a partition, parking none of them",
    )
    kafka_max_message_bytes: int = Field(
        default=DEFAULT_MAX_MESSAGE_BYTES,
        ge=SMALLEST_MAX_MESSAGE_BYTES,
        le=LARGEST_MAX_MESSAGE_BYTES,
        description="the topic's max.message.bytes; the dead-letter producer takes 64 KiB more",
    )
    groups_session_timeout_ms: int = Field(
        default=10_000,
        ge=6_000,  # the broker's group.min.session.timeout.ms
        description="how soon a crashed consumer's partitions move to another (librdkafka: 45 s)",
    )
    groups_max_body: int = Field(
        default=65_536,  # the service kit's DEFAULT_MAX_BODY (not imported: it loads FastAPI)
        ge=1024,
        le=16_777_216,
        description="largest request body the API reads, bytes; above it the answer is 413",
    )

    @field_validator("auth_ca_location")
    @classmethod
    def _a_ca_for_https(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        if path is None:
            return None
        # a CA beside an http URL would protect nothing while looking as if it did
        if not str(info.data.get("auth_url", "")).lower().startswith("https://"):
            msg = "is set, but PLAYBALL_AUTH_URL is not https://"
            raise ValueError(msg)
        try:  # refused here, with the variable's name, rather than at the first request
            ssl.create_default_context(cafile=str(path))
        except (ssl.SSLError, OSError) as exc:
            msg = f"{path} holds no usable PEM certificate: {exc}"
            raise ValueError(msg) from None
        return path

    @property
    def effective_database_url(self) -> str:
        return self.groups_database_url or with_database(self.database_url, DATABASE_NAME)

    @property
    def issuer(self) -> str:
        return self.auth_url.rstrip("/")

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"

    @property
    def dead_letter_topic(self) -> str:
        return dead_letter_topic(self.groups_topic)
