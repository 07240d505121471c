"""The secured session stack as the client security tests see it: where it listens, the
CA it trusts, and one user's credentials (the admin's), as environment variables or as
the services build them."""

from dataclasses import dataclass, field
from pathlib import Path

from playball_core import local_stack
from playball_events.kafka_security import KafkaSecurity, kafka_security
from playball_events.settings import ClientSecuritySettings
from playball_stack.settings import StackSettings


@dataclass(frozen=True)
class SecuredKafka:
    """Where the broker listens, the CA it trusts, and one client user's credentials."""

    bootstrap: str
    ca_file: Path
    user: str
    password: str = field(repr=False)

    def environment(self, **overrides: str) -> dict[str, str]:
        """``PLAYBALL_KAFKA_*`` variables of a client connecting as :attr:`user`."""
        return {
            "PLAYBALL_KAFKA_BOOTSTRAP": self.bootstrap,
            "PLAYBALL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "PLAYBALL_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "PLAYBALL_KAFKA_SASL_USERNAME": self.user,
            "PLAYBALL_KAFKA_SASL_PASSWORD": self.password,
            "PLAYBALL_KAFKA_SSL_CA_LOCATION": str(self.ca_file),
            **overrides,
        }

    def security(self, **overrides: object) -> KafkaSecurity:
        """The client security :attr:`environment` describes, as the services build it."""
        fields: dict[str, object] = {
            "kafka_security_protocol": "SASL_SSL",
            "kafka_sasl_mechanism": "SCRAM-SHA-512",
            "kafka_sasl_username": self.user,
            "kafka_sasl_password": self.password,
            "kafka_ssl_ca_location": self.ca_file,
            **overrides,
        }
        return kafka_security(ClientSecuritySettings.model_validate(fields))


def session_secured_kafka(stack: StackSettings) -> SecuredKafka:
    """The session's own stack, which serves SASL_SSL only, as its admin: no broker of
    its own needed (a broker start costs the loaded suite ~15 s of CPU)."""
    variables = local_stack.read_credentials(stack.home, local_stack.KAFKA_ADMIN)
    assert variables is not None, "the session's stack has no admin credentials"
    return SecuredKafka(
        stack.effective_kafka_bootstrap,
        Path(variables["PLAYBALL_KAFKA_SSL_CA_LOCATION"]),
        variables["PLAYBALL_KAFKA_SASL_USERNAME"],
        variables["PLAYBALL_KAFKA_SASL_PASSWORD"],
    )
