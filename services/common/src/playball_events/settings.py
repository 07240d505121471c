"""The addresses a running service needs, read once from the environment.

Variables carry the ``PLAYBALL_`` prefix (``PLAYBALL_KAFKA_BOOTSTRAP``), except
``DATABASE_URL``, which keeps its conventional name. Unset, each defaults to the local
stack's address (:mod:`playball_core.addresses`). Services derive their own settings
classes from :class:`RuntimeSettings` and load them with :func:`load_settings`, which turns
a bad value into :class:`SettingsError` naming the variable.
"""

from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from playball_core.addresses import (
    DEFAULT_DATABASE_URL,
    DEFAULT_KAFKA_BOOTSTRAP,
    DEFAULT_REGISTRY_URL,
)
from playball_core.exits import ConfigurationError
from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "PLAYBALL_"


class RuntimeSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    kafka_bootstrap: str = Field(
        default=DEFAULT_KAFKA_BOOTSTRAP, description="host:port list of the Kafka brokers"
    )
    schema_registry_url: str = Field(
        default=DEFAULT_REGISTRY_URL, description="Confluent-compatible schema registry API"
    )
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "PLAYBALL_DATABASE_URL"),
        description="SQLAlchemy URL of the PostgreSQL server the services' databases live on",
    )


def with_database(url: str, database: str) -> str:
    """A SQLAlchemy URL on the same server, naming another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


class SettingsError(ConfigurationError):
    """One or more ``PLAYBALL_*`` variables hold bad values; the message names each (exit 2)."""


S = TypeVar("S", bound=BaseSettings)


def _variable_name(settings_class: type[BaseSettings], field: str) -> str:
    """The environment variable a settings field is read from."""
    info = settings_class.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    if field.isupper():  # already reported under the variable's own name
        return field
    prefix = settings_class.model_config.get("env_prefix", "") or ""
    return f"{prefix}{field}".upper()


def load_settings(settings_class: type[S]) -> S:
    """``settings_class()`` from the environment; bad values become one SettingsError."""
    try:
        return settings_class()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            lines.append(f"  {_variable_name(settings_class, field)}: {error['msg']}")
        msg = "invalid settings in the environment:\n" + "\n".join(lines)
        raise SettingsError(msg) from exc
