"""The stack's certificate authority, and the server certificates it signs.

Everything the stack or ``playball up`` serves over TLS (the auth API today, the Kafka
listeners next) holds a certificate of one CA made at ``stack up``, and every client is
handed that CA: a process that binds a port while its owner is down cannot present a
certificate the clients accept, because the keys stay under the stack's home.

Layout, under ``<home>/tls/``: ``ca.pem`` and ``ca-key.pem``, then ``<name>.pem`` and
``<name>-key.pem`` per server. PEM throughout; keys are unencrypted PKCS#8, mode 0600,
so Python's ssl, librdkafka and Java's PEM key store (``ssl.keystore.type=PEM``) read
them with no keytool and no password. Server certificates name ``IP:127.0.0.1`` and
``DNS:localhost`` (everything listens on loopback) and serve as TLS server and client.

Keys are ECDSA P-256: generated in a millisecond where RSA-2048 takes tens, and
accepted by all three of those readers.

Every ``ensure_*`` is idempotent and safe to call from processes racing on one home (a
file lock); it keeps what it finds while it is whole, valid for 30 more days and, for a
server certificate, signed by the current CA for the names asked for; otherwise it
makes it anew.
"""

import datetime as dt
import ipaddress
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from playball_stack.file_lock import file_lock

TLS_DIRECTORY = "tls"
KEY_MODE = 0o600
CA_LIFETIME = dt.timedelta(days=3650)
SERVER_LIFETIME = dt.timedelta(days=397)  # the CA/Browser limit: nothing longer is needed
RENEW_BEFORE = dt.timedelta(days=30)
LOOPBACK_IPS = ("127.0.0.1",)
LOOPBACK_NAMES = ("localhost",)
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")

PrivateKey = ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class CertificateFiles:
    certificate: Path  # PEM
    key: Path  # PEM, unencrypted PKCS#8, 0600


def tls_directory(home: Path) -> Path:
    return home / TLS_DIRECTORY


def ca_files(home: Path) -> CertificateFiles:
    """Where the CA is (or will be); nothing is created."""
    directory = tls_directory(home)
    return CertificateFiles(directory / "ca.pem", directory / "ca-key.pem")


def server_files(home: Path, name: str) -> CertificateFiles:
    """Where server ``name``'s certificate and key are (or will be); nothing is created."""
    if not _NAME.fullmatch(name):
        msg = f"a certificate name is lower-case letters, digits, '.', '_' and '-': {name!r}"
        raise ValueError(msg)
    directory = tls_directory(home)
    return CertificateFiles(directory / f"{name}.pem", directory / f"{name}-key.pem")


def ensure_ca(home: Path) -> CertificateFiles:
    """The stack's CA, made when missing, broken or expiring."""
    with _locked(home):
        return _ensure_ca(home)


def ensure_server_certificate(
    home: Path,
    name: str,
    *,
    ip_addresses: Sequence[str] = LOOPBACK_IPS,
    dns_names: Sequence[str] = LOOPBACK_NAMES,
) -> CertificateFiles:
    """Server ``name``'s certificate from the stack's CA (made first when needed), issued
    anew when missing, expiring, of another CA, or naming other hosts."""
    files = server_files(home, name)
    wanted = _alternative_names(ip_addresses, dns_names)
    with _locked(home):
        ca = _load(_ensure_ca(home))
        if ca is None:  # pragma: no cover - _ensure_ca has just written it whole
            msg = f"the CA under {tls_directory(home)} cannot be read back"
            raise RuntimeError(msg)
        current = _load(files)
        if current is None or not _valid_server(current[0], ca[0], wanted):
            _issue_server(files, ca, name, wanted)
        _tighten(files.key)
        return files


# -- the work, under the lock ------------------------------------------------------------


@contextmanager
def _locked(home: Path) -> Iterator[None]:
    directory = tls_directory(home)
    directory.mkdir(parents=True, exist_ok=True)
    with file_lock(directory / ".lock"):
        yield


def _ensure_ca(home: Path) -> CertificateFiles:
    files = ca_files(home)
    current = _load(files)
    if current is None or not _valid_ca(current[0]):
        key = ec.generate_private_key(ec.SECP256R1())
        # a serial in the name: two homes' CAs (a test's, the developer's) never share a
        # subject, so no client can confuse one with the other
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PlayBall local stack"),
                x509.NameAttribute(
                    NameOID.COMMON_NAME, f"PlayBall stack CA {x509.random_serial_number():x}"
                ),
            ]
        )
        now = _now()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))  # clocks of other processes
            .not_valid_after(now + CA_LIFETIME)
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
        _write(files, certificate, key)
    _tighten(files.key)
    return files


def _issue_server(
    files: CertificateFiles,
    ca: tuple[x509.Certificate, PrivateKey],
    name: str,
    alternative_names: x509.SubjectAlternativeName,
) -> None:
    ca_certificate, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + SERVER_LIFETIME, ca_certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        # client too: a broker opens connections to the others with its own certificate
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(alternative_names, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(files, certificate, key)


def _alternative_names(
    ip_addresses: Sequence[str], dns_names: Sequence[str]
) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address(address)) for address in ip_addresses
    ]
    names.extend(x509.DNSName(name) for name in dns_names)
    if not names:
        msg = "a server certificate needs at least one IP address or DNS name"
        raise ValueError(msg)
    return x509.SubjectAlternativeName(names)


def _load(files: CertificateFiles) -> tuple[x509.Certificate, PrivateKey] | None:
    """The certificate and its key, None unless both are there, parse, and belong together
    (a crash between the two writes leaves a pair that does not)."""
    try:
        certificate = x509.load_pem_x509_certificate(files.certificate.read_bytes())
        key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if key.public_key() != certificate.public_key():
        return None
    return certificate, key


def _fresh(certificate: x509.Certificate) -> bool:
    return certificate.not_valid_after_utc - RENEW_BEFORE > _now()


def _valid_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca and _fresh(certificate)


def _valid_server(
    certificate: x509.Certificate,
    ca_certificate: x509.Certificate,
    wanted: x509.SubjectAlternativeName,
) -> bool:
    try:
        certificate.verify_directly_issued_by(ca_certificate)
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    return _fresh(certificate) and set(names.value) == set(wanted)


def _write(files: CertificateFiles, certificate: x509.Certificate, key: PrivateKey) -> None:
    # the key first: a crash in between leaves a pair that _load refuses, never a
    # certificate whose key is gone
    _write_file(
        files.key,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        KEY_MODE,
    )
    _write_file(files.certificate, certificate.public_bytes(serialization.Encoding.PEM), 0o644)


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """``data`` into ``path`` whole or not at all (a temporary file renamed over it),
    created with ``mode`` so a key is never readable by others, not even for a moment."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as stream:
        os.fchmod(descriptor, mode)  # the umask may have taken bits off, never added
        stream.write(data)
        stream.flush()
        os.fsync(descriptor)
    temporary.replace(path)


def _tighten(key: Path) -> None:
    # a key copied in, or restored from a backup, with a looser mode
    if key.stat().st_mode & 0o777 != KEY_MODE:
        key.chmod(KEY_MODE)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
