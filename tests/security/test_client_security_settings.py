"""The client security settings: what each combination turns into for librdkafka and the
registry client, what is refused before any connection, and that no secret is ever shown."""

import os
from pathlib import Path

import pytest
from confluent_kafka import KafkaError
from playball_core.credentials import CredentialsRefusedError, raise_on_refusal
from playball_core.exits import ConfigurationError
from playball_core.local_stack import HOME_VARIABLE
from playball_core.registry.client import access_from_environment
from playball_events.kafka_errors_kafka import ClientErrors, secured_config
from playball_events.kafka_security import (
    PLAINTEXT,
    KafkaCredentialsRefusedError,
    kafka_security,
    kafka_security_from_environment,
)
from playball_events.settings import (
    ClientSecuritySettings,
    RuntimeSettings,
    SettingsError,
    load_settings,
)

SASL_PASSWORD = "sasl-secret-Zq81"
KEY_PASSWORD = "key-secret-Hv27"
REGISTRY_PASSWORD = "registry-secret-Xw55"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No PLAYBALL_* of the developer's shell (or of the session, the admin's) leaks into
    these settings, nor the local stack's credentials files a command run by hand falls
    back to: the stack's home is an empty one."""
    for name in list(os.environ):
        if name.startswith("PLAYBALL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv(HOME_VARIABLE, str(tmp_path / "no-stack-here"))
    raise_on_refusal()


@pytest.fixture
def pem(tmp_path: Path) -> Path:
    path = tmp_path / "any.pem"
    path.write_text("not parsed by the settings, only required to exist\n")
    return path


def sasl_ssl(monkeypatch: pytest.MonkeyPatch, ca: Path, **extra: str) -> None:
    values = {
        "PLAYBALL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "PLAYBALL_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "PLAYBALL_KAFKA_SASL_USERNAME": "auth-relay",
        "PLAYBALL_KAFKA_SASL_PASSWORD": SASL_PASSWORD,
        "PLAYBALL_KAFKA_SSL_CA_LOCATION": str(ca),
        **extra,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_by_default_clients_connect_in_plaintext_as_before() -> None:
    security = kafka_security_from_environment()
    assert dict(security.properties) == {"security.protocol": "PLAINTEXT"}
    assert PLAINTEXT.client_config({"bootstrap.servers": "b:1"}) == {"bootstrap.servers": "b:1"}


def test_sasl_ssl_gives_librdkafka_every_property_with_hostname_verification_on(
    monkeypatch: pytest.MonkeyPatch, pem: Path
) -> None:
    sasl_ssl(monkeypatch, pem)
    security = kafka_security_from_environment()
    assert dict(security.properties) == {
        "security.protocol": "SASL_SSL",
        "ssl.endpoint.identification.algorithm": "https",
        "ssl.ca.location": str(pem),
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "auth-relay",
        "sasl.password": SASL_PASSWORD,
    }
    config = secured_config({"bootstrap.servers": "b:1", "security.protocol": "x"}, security)
    assert config["security.protocol"] == "SASL_SSL"  # the settings win over a client's own
    assert isinstance(config["error_cb"], ClientErrors)


def test_a_client_certificate_is_passed_with_its_key_and_key_password(
    monkeypatch: pytest.MonkeyPatch, pem: Path
) -> None:
    monkeypatch.setenv("PLAYBALL_KAFKA_SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("PLAYBALL_KAFKA_SSL_CERTIFICATE_LOCATION", str(pem))
    monkeypatch.setenv("PLAYBALL_KAFKA_SSL_KEY_LOCATION", str(pem))
    monkeypatch.setenv("PLAYBALL_KAFKA_SSL_KEY_PASSWORD", KEY_PASSWORD)
    security = kafka_security_from_environment()
    assert security.properties["ssl.certificate.location"] == str(pem)
    assert security.properties["ssl.key.password"] == KEY_PASSWORD
    assert security.properties["ssl.endpoint.identification.algorithm"] == "https"
    assert "PLAYBALL_KAFKA_SSL_CERTIFICATE_LOCATION" in security.credentials


def test_plain_over_sasl_plaintext_is_refused_unless_explicitly_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLAYBALL_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("PLAYBALL_KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("PLAYBALL_KAFKA_SASL_USERNAME", "u")
    monkeypatch.setenv("PLAYBALL_KAFKA_SASL_PASSWORD", SASL_PASSWORD)
    with pytest.raises(SettingsError, match="PLAYBALL_KAFKA_ALLOW_PLAINTEXT_PASSWORDS") as refused:
        load_settings(ClientSecuritySettings)
    assert SASL_PASSWORD not in str(refused.value)
    monkeypatch.setenv("PLAYBALL_KAFKA_ALLOW_PLAINTEXT_PASSWORDS", "true")
    allowed = kafka_security_from_environment()
    assert allowed.properties["sasl.mechanism"] == "PLAIN"
    # SCRAM never sends the password itself: allowed over SASL_PLAINTEXT without the flag
    monkeypatch.delenv("PLAYBALL_KAFKA_ALLOW_PLAINTEXT_PASSWORDS")
    monkeypatch.setenv("PLAYBALL_KAFKA_SASL_MECHANISM", "SCRAM-SHA-256")
    assert kafka_security_from_environment().protocol == "SASL_PLAINTEXT"


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        (
            {"PLAYBALL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"},
            [
                "PLAYBALL_KAFKA_SASL_MECHANISM is required",
                "PLAYBALL_KAFKA_SASL_USERNAME is required",
                "PLAYBALL_KAFKA_SASL_PASSWORD is required",
            ],
        ),
        (
            {"PLAYBALL_KAFKA_SASL_USERNAME": "u", "PLAYBALL_KAFKA_SASL_PASSWORD": SASL_PASSWORD},
            [
                "PLAYBALL_KAFKA_SASL_USERNAME, PLAYBALL_KAFKA_SASL_PASSWORD set, "
                "but PLAYBALL_KAFKA_SECURITY_PROTOCOL is PLAINTEXT"
            ],
        ),
        (
            {
                "PLAYBALL_KAFKA_SECURITY_PROTOCOL": "SSL",
                "PLAYBALL_KAFKA_SSL_CA_LOCATION": "/nonexistent/ca.pem",
            },
            ["PLAYBALL_KAFKA_SSL_CA_LOCATION: /nonexistent/ca.pem is not a readable file"],
        ),
        (
            {"PLAYBALL_KAFKA_SECURITY_PROTOCOL": "SSL", "PLAYBALL_KAFKA_SSL_KEY_PASSWORD": "k"},
            ["PLAYBALL_KAFKA_SSL_KEY_PASSWORD set without PLAYBALL_KAFKA_SSL_KEY_LOCATION"],
        ),
        ({"PLAYBALL_KAFKA_SECURITY_PROTOCOL": "TLS"}, ["PLAYBALL_KAFKA_SECURITY_PROTOCOL: "]),
        ({"PLAYBALL_KAFKA_SASL_MECHANISM": "OAUTHBEARER"}, ["PLAYBALL_KAFKA_SASL_MECHANISM: "]),
        (
            {"PLAYBALL_SCHEMA_REGISTRY_BASIC_AUTH": REGISTRY_PASSWORD},
            ["PLAYBALL_SCHEMA_REGISTRY_BASIC_AUTH must be user:password"],
        ),
        (
            {"PLAYBALL_SCHEMA_REGISTRY_URL": f"https://svc:{REGISTRY_PASSWORD}@registry/api"},
            ["PLAYBALL_SCHEMA_REGISTRY_URL: Value error, holds a password"],
        ),
    ],
)
def test_an_inconsistent_setup_is_refused_before_connecting_naming_each_variable(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: list[str]
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings(RuntimeSettings)
    message = str(refused.value)
    for text in named:
        assert text in message
    for secret in (SASL_PASSWORD, REGISTRY_PASSWORD):
        assert secret not in message
    assert refused.value.__cause__ is None  # pydantic's error, which holds the input, is dropped


def test_the_certificate_goes_with_its_key(monkeypatch: pytest.MonkeyPatch, pem: Path) -> None:
    monkeypatch.setenv("PLAYBALL_KAFKA_SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("PLAYBALL_KAFKA_SSL_CERTIFICATE_LOCATION", str(pem))
    with pytest.raises(SettingsError, match="go together"):
        load_settings(ClientSecuritySettings)


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYBALL_KAFKA_SSL_CA_LOCATION", "")
    monkeypatch.setenv("PLAYBALL_SCHEMA_REGISTRY_BASIC_AUTH", "")
    settings = load_settings(ClientSecuritySettings)
    assert settings.kafka_ssl_ca_location is None
    assert settings.registry_basic_auth() is None


def test_no_repr_or_str_shows_a_secret(monkeypatch: pytest.MonkeyPatch, pem: Path) -> None:
    sasl_ssl(
        monkeypatch,
        pem,
        PLAYBALL_KAFKA_SSL_CERTIFICATE_LOCATION=str(pem),
        PLAYBALL_KAFKA_SSL_KEY_LOCATION=str(pem),
        PLAYBALL_KAFKA_SSL_KEY_PASSWORD=KEY_PASSWORD,
        PLAYBALL_SCHEMA_REGISTRY_BASIC_AUTH=f"svc:{REGISTRY_PASSWORD}",
    )
    settings = load_settings(RuntimeSettings)
    security = kafka_security(settings)
    shown = [repr(settings), str(settings), repr(security), str(security)]
    shown.append(str(settings.model_dump()))  # SecretStr stays masked in a dump too
    for text in shown:
        for secret in (SASL_PASSWORD, KEY_PASSWORD, REGISTRY_PASSWORD):
            assert secret not in text
    assert "auth-relay" in repr(settings)  # a user name is no secret


def test_registry_credentials_split_on_the_first_colon(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYBALL_SCHEMA_REGISTRY_BASIC_AUTH", "svc:pa:ss")
    assert load_settings(ClientSecuritySettings).registry_basic_auth() == ("svc", "pa:ss")
    environ = {"PLAYBALL_SCHEMA_REGISTRY_BASIC_AUTH": "svc:pa:ss"}
    assert access_from_environment(environ) == (("svc", "pa:ss"), None)  # the gate's reading
    with pytest.raises(ConfigurationError) as refused:
        access_from_environment({"PLAYBALL_SCHEMA_REGISTRY_BASIC_AUTH": REGISTRY_PASSWORD})
    assert REGISTRY_PASSWORD not in str(refused.value)


def test_a_broker_refusing_the_credentials_is_fatal_and_named_without_the_password(
    monkeypatch: pytest.MonkeyPatch, pem: Path
) -> None:
    sasl_ssl(monkeypatch, pem)
    errors = ClientErrors(kafka_security_from_environment())
    errors(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))  # retried: no raise
    assert errors.brokers_down
    # librdkafka's reason never holds the password; if some broker's did, it is masked
    reason = f"SASL authentication error: invalid credentials ({SASL_PASSWORD})"
    with pytest.raises(KafkaCredentialsRefusedError) as refused:
        errors(KafkaError(KafkaError._AUTHENTICATION, reason))
    assert isinstance(refused.value, CredentialsRefusedError)
    message = str(refused.value)
    assert "PLAYBALL_KAFKA_SASL_PASSWORD" in message
    assert "SASL authentication error" in message
    assert SASL_PASSWORD not in message
