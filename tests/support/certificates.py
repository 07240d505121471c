"""A throwaway CA and server certificates for tests' TLS listeners (PEM, PKCS#8 keys).

Certificates name ``IP:127.0.0.1`` and ``DNS:localhost`` unless told otherwise, so clients
keep hostname verification on against a loopback server. EC P-256 keys: generated in
milliseconds, where RSA-2048 takes a noticeable share of a fixture's time.
"""

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK_NAMES: tuple[x509.GeneralName, ...] = (
    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    x509.DNSName("localhost"),
)
_VALIDITY = datetime.timedelta(days=2)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,  # Kafka's PEM keystore reads PKCS#8 only
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> Path:
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_bytes(data)
    return path


@dataclass(frozen=True, slots=True)
class ScratchCa:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def create(cls, name: str = "playball test CA") -> "ScratchCa":
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    def write_certificate(self, path: Path) -> Path:
        path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        return path

    def issue(
        self,
        common_name: str,
        names: tuple[x509.GeneralName, ...] = LOOPBACK_NAMES,
    ) -> tuple[bytes, bytes]:
        """A server certificate for ``names``: (PKCS#8 key PEM, certificate PEM)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        ca_key_id = self.certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
            .add_extension(
                # Kafka's nodes are TLS clients of each other too (inter-broker, controller)
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id), False
            )
            .sign(self.key, hashes.SHA256())
        )
        return _pem_key(key), certificate.public_bytes(serialization.Encoding.PEM)

    def write_keystore(self, path: Path, common_name: str) -> Path:
        """One PEM file holding a new server key and its certificate (Kafka's PEM keystore)."""
        key, certificate = self.issue(common_name)
        return _write_private(path, key + certificate)

    def write_server_files(self, directory: Path, common_name: str) -> tuple[Path, Path]:
        """A new server key and certificate as two files (an https server's): (cert, key)."""
        key, certificate = self.issue(common_name)
        cert_path = directory / f"{common_name}.crt"
        cert_path.write_bytes(certificate)
        return cert_path, _write_private(directory / f"{common_name}.key", key)
