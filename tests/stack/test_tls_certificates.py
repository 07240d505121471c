"""The stack's CA and server certificates: PEM, PKCS#8 keys 0600, loopback SANs, a real
TLS handshake that checks the host name, and made once (kept while valid)."""

import os
import socket
import ssl
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from ipaddress import ip_address
from pathlib import Path

import pytest
from cryptography import x509
from playball_stack.settings import StackSettings
from playball_stack.stack import Stack
from playball_stack.tls import (
    CertificateFiles,
    ca_files,
    ensure_ca,
    ensure_server_certificate,
    server_files,
)
from support.stack_env import DEAD_DATABASE_URL, DEAD_KAFKA_BOOTSTRAP, DEAD_REGISTRY_URL


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def _certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_the_ca_is_a_pem_ca_with_a_pkcs8_key_0600_and_is_made_once(tmp_path: Path) -> None:
    files = ensure_ca(tmp_path)
    assert files == ca_files(tmp_path)
    assert files.key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8
    assert _mode(files.key) == 0o600
    ca = _certificate(files.certificate)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    before = files.certificate.read_bytes(), files.key.read_bytes()
    ensure_ca(tmp_path)
    assert (files.certificate.read_bytes(), files.key.read_bytes()) == before


def test_a_server_certificate_names_the_loopback_and_chains_to_the_ca(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # the mode must not depend on the caller's umask
    try:
        files = ensure_server_certificate(tmp_path, "auth-api")
    finally:
        os.umask(old_umask)
    assert files == server_files(tmp_path, "auth-api")
    assert files.key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert _mode(files.key) == 0o600
    assert _mode(ca_files(tmp_path).key) == 0o600
    certificate = _certificate(files.certificate)
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [ip_address("127.0.0.1")]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    certificate.verify_directly_issued_by(_certificate(ca_files(tmp_path).certificate))


def test_a_server_certificate_is_kept_while_valid_and_its_key_tightened(tmp_path: Path) -> None:
    files = ensure_server_certificate(tmp_path, "kafka-1")
    before = files.certificate.read_bytes()
    files.key.chmod(0o644)  # as a careless copy would leave it
    ensure_server_certificate(tmp_path, "kafka-1")
    assert files.certificate.read_bytes() == before
    assert _mode(files.key) == 0o600


def test_a_new_ca_gets_new_server_certificates(tmp_path: Path) -> None:
    files = ensure_server_certificate(tmp_path, "auth-api")
    ca = ca_files(tmp_path)
    ca.certificate.unlink()  # a lost CA is made anew, and what it signed is reissued
    ensure_server_certificate(tmp_path, "auth-api")
    certificate = _certificate(files.certificate)
    certificate.verify_directly_issued_by(_certificate(ca.certificate))


def test_other_names_are_reissued_and_bad_names_refused(tmp_path: Path) -> None:
    files = ensure_server_certificate(tmp_path, "x", ip_addresses=(), dns_names=("a.example",))
    ensure_server_certificate(tmp_path, "x")
    names = _certificate(files.certificate).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert names.value.get_values_for_type(x509.DNSName) == ["localhost"]
    with pytest.raises(ValueError, match="certificate name"):
        server_files(tmp_path, "../escape")


def test_racing_callers_end_with_one_consistent_pair(tmp_path: Path) -> None:
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _n: ensure_server_certificate(tmp_path, "auth-api"), range(8)))
    certificate = _certificate(server_files(tmp_path, "auth-api").certificate)
    certificate.verify_directly_issued_by(_certificate(ca_files(tmp_path).certificate))


@contextmanager
def tls_server(files: CertificateFiles) -> Iterator[int]:
    """A TLS listener on 127.0.0.1 that completes handshakes (or fails them) and closes."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.certificate, files.key)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(connection, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept(): close() alone does not
        listener.close()
        thread.join(timeout=5)
        assert not thread.is_alive()


def _handshake(port: int, client: ssl.SSLContext, host: str) -> None:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        client.wrap_socket(raw, server_hostname=host),
    ):
        pass


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_client_trusting_the_ca_verifies_the_server_and_its_name(
    tmp_path: Path, host: str
) -> None:
    files = ensure_server_certificate(tmp_path, "server")
    trusting = ssl.create_default_context(cafile=str(ca_files(tmp_path).certificate))
    with tls_server(files) as port:
        _handshake(port, trusting, host)
        with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
            _handshake(port, ssl.create_default_context(), host)  # the system store only


def test_a_certificate_for_another_host_is_refused(tmp_path: Path) -> None:
    files = ensure_server_certificate(
        tmp_path, "elsewhere", ip_addresses=("10.9.8.7",), dns_names=("other.example",)
    )
    trusting = ssl.create_default_context(cafile=str(ca_files(tmp_path).certificate))
    with tls_server(files) as port, pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        _handshake(port, trusting, "127.0.0.1")


def test_stack_up_makes_the_ca(tmp_path: Path) -> None:
    # every component external: `up` starts nothing, and still prepares the home
    settings = StackSettings(
        home=tmp_path / "home",
        kafka_bootstrap=DEAD_KAFKA_BOOTSTRAP,
        schema_registry_url=DEAD_REGISTRY_URL,
        database_url=DEAD_DATABASE_URL,
    )
    Stack(settings).up(timeout=5)
    files = ca_files(settings.home)
    assert files.certificate.is_file()
    assert _mode(files.key) == 0o600
