"""The stack's optional SASL_SSL layout for a Kafka node: no PLAINTEXT listener left,
TLS from PEM files, SCRAM users created at format time, and passwords only where they
must be (the 0600 properties, the format call), masked in any message."""

import stat
from pathlib import Path

import pytest
from playball_stack.components.kafka import KafkaCluster, KafkaNode
from playball_stack.components.kafka_sasl_ssl import SaslSslListeners

BROKER_PASSWORD = "broker-secret-Kq3"
CONTROLLER_PASSWORD = "controller-secret-Pw9"
CLIENT_PASSWORD = "client-secret-Zt4"


def listeners(tmp_path: Path) -> SaslSslListeners:
    key, certificate = tmp_path / "kafka-key.pem", tmp_path / "kafka.pem"
    key.write_text("-----KEY-----\n")
    certificate.write_text("-----CERTIFICATE-----\n")
    return SaslSslListeners(
        ca_file=tmp_path / "ca.pem",
        certificate_file=certificate,
        key_file=key,
        broker_password=BROKER_PASSWORD,
        controller_password=CONTROLLER_PASSWORD,
        users=(("auth-relay", CLIENT_PASSWORD),),
    )


def properties(node: KafkaNode) -> dict[str, str]:
    return dict(line.split("=", 1) for line in node.server_properties().splitlines())


def test_every_listener_is_sasl_ssl_and_hostname_verification_stays_on(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path, tmp_path, 1, 29092, "256m", security=listeners(tmp_path))
    node = KafkaNode(cluster, 1)
    props = properties(node)
    assert props["listeners"] == "SASL_SSL://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:SASL_SSL"
    assert "PLAINTEXT" not in props["listeners"] + props["advertised.listeners"]
    assert props["inter.broker.listener.name"] == "SASL_SSL"
    assert props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert props["sasl.mechanism.controller.protocol"] == "PLAIN"  # KAFKA-15513
    assert props["ssl.keystore.type"] == props["ssl.truststore.type"] == "PEM"
    assert props["ssl.keystore.location"] == str(node.keystore)
    assert props["ssl.endpoint.identification.algorithm"] == "https"


def test_the_default_layout_is_untouched(tmp_path: Path) -> None:
    plain = KafkaNode(KafkaCluster(tmp_path, tmp_path, 1, 29092, "256m"), 1)
    assert properties(plain)["listener.security.protocol.map"] == (
        "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    )
    assert not any(key.startswith(("ssl.", "sasl.")) for key in properties(plain))


def test_scram_users_are_created_at_format_and_passwords_are_masked_in_messages(
    tmp_path: Path,
) -> None:
    layout = listeners(tmp_path)
    assert layout.format_arguments() == [
        "--add-scram",
        f"SCRAM-SHA-512=[name=playball-broker,password={BROKER_PASSWORD}]",
        "--add-scram",
        f"SCRAM-SHA-512=[name=auth-relay,password={CLIENT_PASSWORD}]",
    ]
    message = layout.redacted(" ".join(layout.format_arguments()) + CONTROLLER_PASSWORD)
    for secret in (BROKER_PASSWORD, CONTROLLER_PASSWORD, CLIENT_PASSWORD):
        assert secret not in message
        assert secret not in repr(layout)


def test_the_keystore_joins_key_and_certificate_in_a_private_file(tmp_path: Path) -> None:
    layout = listeners(tmp_path)
    keystore = tmp_path / "keystore.pem"
    layout.write_keystore(keystore)
    assert keystore.read_text() == "-----KEY-----\n-----CERTIFICATE-----\n"
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600


@pytest.mark.parametrize("password", ["", 'pa"ss', "pa,ss]"])
def test_a_password_that_would_break_jaas_or_the_format_syntax_is_refused_unshown(
    tmp_path: Path, password: str
) -> None:
    with pytest.raises(ValueError, match="playball-broker") as refused:
        SaslSslListeners(tmp_path, tmp_path, tmp_path, password, CONTROLLER_PASSWORD)
    if password:
        assert password not in str(refused.value)
