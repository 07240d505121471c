"""The security half of every Kafka client's configuration, built once from the settings.

:func:`kafka_security` turns :class:`~playball_events.settings.ClientSecuritySettings`
into a :class:`KafkaSecurity`: librdkafka's properties (``security.protocol``, SASL, TLS)
plus what a refusal must name. Every client (the relay's producer, the consumer, the
dead-letter producer and reader, the admin clients, the benchmarks, the test helpers)
takes one, and :mod:`playball_events.kafka_errors_kafka` adds the error callback that
makes a refused credential fatal.

Hostname verification stays on in every TLS client
(``ssl.endpoint.identification.algorithm=https``, librdkafka's default, stated so no
client can lose it by accident). OAUTHBEARER (MSK IAM) is not supported yet.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from playball_core.credentials import CredentialsRefusedError

from playball_events.settings import ClientSecuritySettings, load_settings

_REDACTED = "***"
SASL_VARIABLES = "PLAYBALL_KAFKA_SASL_USERNAME / PLAYBALL_KAFKA_SASL_PASSWORD"
CERTIFICATE_VARIABLES = "PLAYBALL_KAFKA_SSL_CERTIFICATE_LOCATION / PLAYBALL_KAFKA_SSL_KEY_LOCATION"
PROTOCOL_VARIABLE = "PLAYBALL_KAFKA_SECURITY_PROTOCOL"
CA_VARIABLE = "PLAYBALL_KAFKA_SSL_CA_LOCATION"


class KafkaCredentialsRefusedError(CredentialsRefusedError):
    """A broker refused the configured credentials (exit 3)."""


@dataclass(frozen=True, slots=True)
class KafkaSecurity:
    """librdkafka's security properties and what a refusal names; secrets stay out of repr."""

    protocol: str
    credentials: str  # the variables holding what a broker may refuse
    properties: Mapping[str, str] = field(repr=False)
    secrets: tuple[str, ...] = field(repr=False, default=())

    def client_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """``config`` with these security properties added (they win over its own)."""
        return {**config, **self.properties}

    def redacted(self, text: str) -> str:
        """``text`` with any secret of this configuration replaced."""
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, _REDACTED)
        return text

    def refusal(self, reason: str) -> KafkaCredentialsRefusedError:
        """The error for a broker's refusal; names the settings, never a value."""
        return KafkaCredentialsRefusedError(
            f"Kafka refused the configured credentials ({self.credentials}; "
            f"{PROTOCOL_VARIABLE}={self.protocol}): {self.redacted(reason)}"
        )


PLAINTEXT = KafkaSecurity("PLAINTEXT", PROTOCOL_VARIABLE, MappingProxyType({}))


def kafka_security(settings: ClientSecuritySettings) -> KafkaSecurity:
    """The librdkafka security properties of ``settings`` (already checked for consistency)."""
    protocol = settings.kafka_security_protocol
    properties: dict[str, str] = {"security.protocol": protocol}
    secrets: list[str] = []
    credentials = PROTOCOL_VARIABLE
    if protocol in {"SSL", "SASL_SSL"}:
        properties["ssl.endpoint.identification.algorithm"] = "https"
        optional = {
            "ssl.ca.location": settings.kafka_ssl_ca_location,
            "ssl.certificate.location": settings.kafka_ssl_certificate_location,
            "ssl.key.location": settings.kafka_ssl_key_location,
        }
        properties.update({key: str(path) for key, path in optional.items() if path is not None})
        if settings.kafka_ssl_key_password is not None:
            properties["ssl.key.password"] = settings.kafka_ssl_key_password.get_secret_value()
            secrets.append(properties["ssl.key.password"])
        if settings.kafka_ssl_certificate_location is not None:
            credentials = CERTIFICATE_VARIABLES
    if protocol in {"SASL_PLAINTEXT", "SASL_SSL"}:
        password = settings.kafka_sasl_password
        properties["sasl.mechanism"] = settings.kafka_sasl_mechanism or ""
        properties["sasl.username"] = settings.kafka_sasl_username or ""
        properties["sasl.password"] = password.get_secret_value() if password else ""
        secrets.append(properties["sasl.password"])
        credentials = SASL_VARIABLES
    return KafkaSecurity(protocol, credentials, MappingProxyType(properties), tuple(secrets))


def kafka_security_from_environment() -> KafkaSecurity:
    """:func:`kafka_security` of the ``PLAYBALL_KAFKA_*`` variables; SettingsError (exit 2)
    naming a bad one. For tools and helpers that read no other setting."""
    return kafka_security(load_settings(ClientSecuritySettings))
