"""The addresses a running service needs, read once from the environment.

Variables carry the ``PLAYBALL_`` prefix (``PLAYBALL_KAFKA_BOOTSTRAP``), except
``DATABASE_URL``, which keeps its conventional name. Unset, each defaults to the local
stack's address (:mod:`playball_core.addresses`). Services derive their own settings
classes from :class:`RuntimeSettings` and load them with :func:`load_settings`, which turns
a bad value into :class:`SettingsError` naming the variable.

How clients authenticate, to the brokers and to the registry, is
:class:`ClientSecuritySettings` (``PLAYBALL_KAFKA_SECURITY_PROTOCOL`` and the rest, see
docs/security.md); :mod:`playball_events.kafka_security` turns them into librdkafka's
properties. Secrets are ``SecretStr`` and input values are left out of validation
errors, so neither a repr nor a message ever shows one.
"""

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit

from playball_core.address_checks import check_bootstrap, check_database_url, check_http_url
from playball_core.addresses import (
    DEFAULT_DATABASE_URL,
    DEFAULT_KAFKA_BOOTSTRAP,
    DEFAULT_REGISTRY_URL,
)
from playball_core.exits import ConfigurationError
from playball_core.local_stack import KAFKA_ADMIN, read_credentials, stack_home
from pydantic import (
    AfterValidator,
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from playball_events.service_principals import DEFAULT_READERS_TOPIC

if TYPE_CHECKING:
    from playball_core.registry.client import RegistryClient

ENV_PREFIX = "PLAYBALL_"

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


def _file_problem(path: Path | None) -> str | None:
    if path is None or path.is_file():
        return None
    return f"{path} is not a readable file"


class LocalStackCredentials(PydanticBaseSettingsSource):
    """The local stack's credentials files, below the environment in priority.

    A file applies as a whole, and only when the environment agrees with every variable
    it holds (each one unset or equal): a command run by hand against the local stack
    then connects as the file's principal, while an environment that points anywhere
    else, or names other credentials, is never mixed with it.
    """

    def __init__(self, settings_cls: type[BaseSettings], principals: tuple[str, ...]) -> None:
        super().__init__(settings_cls)
        self.principals = principals

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        del field  # all the work is in __call__
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if not self.principals:
            return values
        home = stack_home()
        names = {
            _variable_name(self.settings_cls, field): field
            for field in self.settings_cls.model_fields
        }
        for principal in self.principals:
            variables = read_credentials(home, principal)
            if not variables:
                continue
            if any(os.environ.get(name, value) != value for name, value in variables.items()):
                continue
            values.update(
                {names[name]: value for name, value in variables.items() if name in names}
            )
        return values


class ClientSecuritySettings(BaseSettings):
    """How the Kafka clients and the registry client prove who they are, and whom they trust.

    Consistency is checked here, so a service refuses a half-configured setup at start
    (exit 2) instead of failing to connect later: SASL needs a mechanism, a user name and
    a password; a client key goes with its certificate; PLAIN sends the password as it
    is, so it is refused over an unencrypted connection unless explicitly allowed.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        # a value that fails validation may be a secret: messages never repeat values
        hide_input_in_errors=True,
    )

    # the local stack's credentials files a command falls back to, when the environment
    # names none (:class:`LocalStackCredentials`); a tool run by hand is the admin
    local_credentials: ClassVar[tuple[str, ...]] = (KAFKA_ADMIN,)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            LocalStackCredentials(settings_cls, cls.local_credentials),
            dotenv_settings,
            file_secret_settings,
        )

    kafka_security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT", description="how the Kafka clients connect"
    )
    kafka_sasl_mechanism: SaslMechanism | None = Field(
        default=None, description="SASL mechanism (SASL_* protocols only)"
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user name")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password")
    kafka_ssl_ca_location: Path | None = Field(
        default=None, description="PEM file of the CA that signed the brokers' certificates"
    )
    kafka_ssl_certificate_location: Path | None = Field(
        default=None, description="PEM client certificate (mTLS)"
    )
    kafka_ssl_key_location: Path | None = Field(
        default=None, description="PEM private key of the client certificate"
    )
    kafka_ssl_key_password: SecretStr | None = Field(
        default=None, description="password of the client key, when it is encrypted"
    )
    kafka_allow_plaintext_passwords: bool = Field(
        default=False,
        description="allow SASL PLAIN over SASL_PLAINTEXT, which sends the password in clear",
    )
    schema_registry_basic_auth: SecretStr | None = Field(
        default=None, description="user:password for the registry (split on the first colon)"
    )
    schema_registry_ca_location: Path | None = Field(
        default=None, description="PEM file of the CA of an https:// registry"
    )

    @field_validator(
        "kafka_sasl_mechanism",
        "kafka_sasl_username",
        "kafka_sasl_password",
        "kafka_ssl_ca_location",
        "kafka_ssl_certificate_location",
        "kafka_ssl_key_location",
        "kafka_ssl_key_password",
        "schema_registry_basic_auth",
        "schema_registry_ca_location",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `FOO=` in a deployment template means "not set", not "a file named ''"
        return None if value == "" else value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = [*self._sasl_problems(), *self._ssl_problems(), *self._registry_problems()]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _sasl_problems(self) -> list[str]:
        protocol = self.kafka_security_protocol
        given = {
            "PLAYBALL_KAFKA_SASL_MECHANISM": self.kafka_sasl_mechanism,
            "PLAYBALL_KAFKA_SASL_USERNAME": self.kafka_sasl_username,
            "PLAYBALL_KAFKA_SASL_PASSWORD": self.kafka_sasl_password,
        }
        if not protocol.startswith("SASL_"):
            unused = [name for name, value in given.items() if value is not None]
            if unused:
                return [
                    f"{', '.join(unused)} set, but PLAYBALL_KAFKA_SECURITY_PROTOCOL is {protocol}"
                ]
            return []
        problems = [
            f"{name} is required with PLAYBALL_KAFKA_SECURITY_PROTOCOL={protocol}"
            for name, value in given.items()
            if not value
        ]
        if (
            protocol == "SASL_PLAINTEXT"
            and self.kafka_sasl_mechanism == "PLAIN"
            and not self.kafka_allow_plaintext_passwords
        ):
            problems.append(
                "PLAYBALL_KAFKA_SASL_MECHANISM=PLAIN over SASL_PLAINTEXT sends the password "
                "unencrypted: use SASL_SSL, or set PLAYBALL_KAFKA_ALLOW_PLAINTEXT_PASSWORDS=true"
            )
        return problems

    def _ssl_problems(self) -> list[str]:
        files = {
            "PLAYBALL_KAFKA_SSL_CA_LOCATION": self.kafka_ssl_ca_location,
            "PLAYBALL_KAFKA_SSL_CERTIFICATE_LOCATION": self.kafka_ssl_certificate_location,
            "PLAYBALL_KAFKA_SSL_KEY_LOCATION": self.kafka_ssl_key_location,
        }
        if not self.kafka_security_protocol.endswith("SSL"):
            given = [name for name, path in files.items() if path is not None]
            if self.kafka_ssl_key_password is not None:
                given.append("PLAYBALL_KAFKA_SSL_KEY_PASSWORD")
            if given:
                protocol = self.kafka_security_protocol
                return [
                    f"{', '.join(given)} set, but PLAYBALL_KAFKA_SECURITY_PROTOCOL is {protocol}"
                ]
            return []
        problems = [
            f"{name}: {problem}"
            for name, path in files.items()
            if (problem := _file_problem(path)) is not None
        ]
        certificate, key = self.kafka_ssl_certificate_location, self.kafka_ssl_key_location
        if (certificate is None) != (key is None):
            problems.append(
                "PLAYBALL_KAFKA_SSL_CERTIFICATE_LOCATION and PLAYBALL_KAFKA_SSL_KEY_LOCATION "
                "go together (a client certificate and its key)"
            )
        if self.kafka_ssl_key_password is not None and key is None:
            problems.append(
                "PLAYBALL_KAFKA_SSL_KEY_PASSWORD set without PLAYBALL_KAFKA_SSL_KEY_LOCATION"
            )
        return problems

    def _registry_problems(self) -> list[str]:
        problems = []
        auth = self.schema_registry_basic_auth
        if auth is not None and ":" not in auth.get_secret_value():
            problems.append("PLAYBALL_SCHEMA_REGISTRY_BASIC_AUTH must be user:password")
        problem = _file_problem(self.schema_registry_ca_location)
        if problem is not None:
            problems.append(f"PLAYBALL_SCHEMA_REGISTRY_CA_LOCATION: {problem}")
        return problems

    def registry_basic_auth(self) -> tuple[str, str] | None:
        """(user, password) for the registry, split on the first colon."""
        if self.schema_registry_basic_auth is None:
            return None
        user, _, password = self.schema_registry_basic_auth.get_secret_value().partition(":")
        return user, password


# a database URL setting: checked when loaded, so a malformed one is a named setting error
# (exit 2), not a traceback from the first connection
DatabaseUrl = Annotated[str, AfterValidator(check_database_url)]
# the brokers' addresses: a typo is a named setting error, not ten seconds of "no broker"
KafkaBootstrap = Annotated[str, AfterValidator(check_bootstrap)]
# a service's base URL (another service's API)
HttpUrl = Annotated[str, AfterValidator(check_http_url)]


class RuntimeSettings(ClientSecuritySettings):
    kafka_bootstrap: KafkaBootstrap = Field(
        default=DEFAULT_KAFKA_BOOTSTRAP, description="host:port list of the Kafka brokers"
    )
    schema_registry_url: str = Field(
        default=DEFAULT_REGISTRY_URL, description="Confluent-compatible schema registry API"
    )
    database_url: DatabaseUrl = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "PLAYBALL_DATABASE_URL"),
        description="SQLAlchemy URL of the PostgreSQL server the services' databases live on",
    )

    readers_topic: str = Field(
        default=DEFAULT_READERS_TOPIC,
        min_length=1,
        description="compacted topic every consumer publishes its reader record on "
        "(the consumer-aware gate reads it)",
    )

    @field_validator("schema_registry_url")
    @classmethod
    def _no_credentials_in_url(cls, url: str) -> str:
        # they would be shown wherever the URL is (every registry error names it)
        if urlsplit(url).password is not None:
            msg = "holds a password: give the credentials in PLAYBALL_SCHEMA_REGISTRY_BASIC_AUTH"
            raise ValueError(msg)
        return url

    def registry_client(self) -> "RegistryClient":
        """A client of the registry at ``schema_registry_url``, with its credentials and CA."""
        from playball_core.registry.client import RegistryClient  # noqa: PLC0415 - httpx

        return RegistryClient(
            self.schema_registry_url,
            basic_auth=self.registry_basic_auth(),
            ca_location=self.schema_registry_ca_location,
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
            if not error["loc"]:  # a check across fields: its message names the variables
                lines.append(f"  {error['msg'].removeprefix('Value error, ')}")
                continue
            field = str(error["loc"][0])
            lines.append(f"  {_variable_name(settings_class, field)}: {error['msg']}")
        msg = "invalid settings in the environment:\n" + "\n".join(lines)
        # not chained: pydantic's error would carry the values, and a value may be a secret
        raise SettingsError(msg) from None
