"""The stack's settings: where it keeps data, its ports and heaps, and what is external.

Variables carry the ``PLAYBALL_`` prefix (``PLAYBALL_KAFKA_PORT``). The address variables
are the runtime's (``PLAYBALL_KAFKA_BOOTSTRAP``, ``PLAYBALL_SCHEMA_REGISTRY_URL``,
``DATABASE_URL``): one that is set points at an existing component, and the stack then
does not start its own. The ``effective_*`` addresses are what the stack hands to the
processes it starts.
"""

from pathlib import Path

from playball_core import local_stack
from playball_core.address_checks import check_bootstrap, check_database_url
from playball_core.addresses import (
    DEFAULT_KAFKA_PORT,
    DEFAULT_POSTGRES_PORT,
    DEFAULT_REGISTRY_PORT,
    REGISTRY_API_PATH,
)
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache() -> Path:
    return Path.home() / ".cache" / "playball"


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PLAYBALL_",
        extra="ignore",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    kafka_bootstrap: str | None = Field(
        default=None,
        description="host:port list of an existing Kafka; unset = the dev stack's broker",
    )
    schema_registry_url: str | None = Field(
        default=None,
        description="URL of an existing Confluent-compatible registry; unset = the stack's",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "PLAYBALL_DATABASE_URL"),
        description="SQLAlchemy URL of an existing PostgreSQL; unset = the stack's cluster",
    )
    postgres_admin_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the stack's PostgreSQL superuser; unset = read from "
        "the stack's credentials",
    )

    home: Path = Field(
        default_factory=local_stack.default_home, description="stack data and pid files"
    )
    cache_dir: Path = Field(default_factory=_default_cache, description="verified downloads")

    kafka_port: int = DEFAULT_KAFKA_PORT
    registry_port: int = DEFAULT_REGISTRY_PORT
    postgres_port: int = DEFAULT_POSTGRES_PORT
    kafka_heap: str = "512m"
    registry_heap: str = "384m"
    kafka_jvm_options: str = Field(
        default="",
        description="extra JVM options for the Kafka nodes and their storage format, "
        "space-separated (e.g. -XX:TieredStopAtLevel=1: less CPU to start, slower after)",
    )
    postgres_max_slot_wal_keep_size: str = Field(
        default="1GB",
        description="PostgreSQL's max_slot_wal_keep_size: the most WAL a replication slot "
        "(the log-based relay's) may hold back before the server gives the slot up",
    )
    registry_jvm_options: str = Field(
        default="",
        description="extra JVM options for the schema registry, space-separated",
    )

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap(cls, servers: str | None) -> str | None:
        return None if servers is None else check_bootstrap(servers)

    @field_validator("database_url", "postgres_admin_url")
    @classmethod
    def _database_url(cls, url: str | None) -> str | None:
        return None if url is None else check_database_url(url)

    @field_validator("kafka_port", "registry_port", "postgres_port")
    @classmethod
    def _port_in_range(cls, port: int) -> int:
        if not 1024 <= port <= 65535:
            msg = f"port {port} is outside 1024-65535"
            raise ValueError(msg)
        return port

    @property
    def effective_kafka_bootstrap(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @property
    def effective_registry_url(self) -> str:
        return (
            self.schema_registry_url or f"http://127.0.0.1:{self.registry_port}{REGISTRY_API_PATH}"
        )

    @property
    def effective_database_url(self) -> str:
        """An external server's URL, or the stack's superuser's (for the stack itself and
        test helpers: services connect as their own roles)."""
        if self.database_url:
            return self.database_url
        if self.postgres_admin_url:
            return self.postgres_admin_url
        stored = local_stack.read_credentials(self.home, local_stack.POSTGRES_ADMIN) or {}
        return stored.get(
            local_stack.POSTGRES_ADMIN_URL_VARIABLE,
            # no password: the stack was not made yet, and nothing here invents one
            f"postgresql+psycopg://{local_stack.POSTGRES_ADMIN}@127.0.0.1:{self.postgres_port}"
            "/playball",
        )
