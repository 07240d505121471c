"""Groups fetches auth's JWKS over https, trusting PLAYBALL_AUTH_CA_LOCATION only: a
token verifies through a JWKS served with a certificate of the stack's CA, and nothing
else serving the JWKS URL (no CA given, another CA, another host's certificate) can
hand groups its keys. Verifiers are built from settings as ``groups serve`` builds them.
"""

import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playball_groups.adapters.jwks_fetch import fetch_jwks
from playball_groups.adapters.jwks_keys import KeySetError
from playball_groups.entrypoints.bootstrap import token_verifier
from playball_groups.service_layer.tokens import TokenKeysUnavailableError
from playball_groups.settings import GroupsSettings
from playball_stack.tls import CertificateFiles, ca_files, ensure_server_certificate
from pydantic import ValidationError
from support.tokens import Issuer, jwks_server

JWKS_PATH = "/.well-known/jwks.json"


def trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def serving(files: CertificateFiles) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.certificate, files.key)
    return context


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "stack"


@pytest.fixture
def ca(home: Path) -> Path:
    return ca_files(home).certificate


@pytest.fixture
def auth(home: Path) -> Iterator[Issuer]:
    """A JWKS served as `playball up` serves auth's: https, a stack-CA certificate."""
    with jwks_server(serving(ensure_server_certificate(home, "auth-api"))) as issuer:
        yield issuer


def test_a_token_verifies_through_the_https_jwks_with_the_stack_ca(auth: Issuer, ca: Path) -> None:
    verifier = token_verifier(GroupsSettings(auth_url=auth.url, auth_ca_location=ca))
    user = uuid.uuid4()
    assert verifier.caller(auth.token(user)) == user
    assert auth.fetches == 1


def test_without_the_ca_the_https_jwks_is_not_trusted(auth: Issuer) -> None:
    verifier = token_verifier(GroupsSettings(auth_url=auth.url))  # the system's store only
    with pytest.raises(TokenKeysUnavailableError):
        verifier.caller(auth.token(uuid.uuid4()))
    with pytest.raises(KeySetError, match="CERTIFICATE_VERIFY_FAILED"):
        fetch_jwks(auth.url + JWKS_PATH, timeout=5, ssl_context=ssl.create_default_context())


@pytest.mark.parametrize(
    ("which", "refusal"),
    [("another CA", "unable to get local issuer"), ("another host", "IP address mismatch")],
)
def test_a_squatter_on_the_jwks_url_cannot_hand_groups_keys(
    tmp_path: Path, home: Path, ca: Path, which: str, refusal: str
) -> None:
    ensure_server_certificate(home, "auth-api")  # the stack's CA exists: ca is trusted
    if which == "another CA":
        files = ensure_server_certificate(tmp_path / "squatter", "auth-api")
    else:  # the right CA, but a certificate for a name that is not the URL's
        files = ensure_server_certificate(
            home, "elsewhere", ip_addresses=("10.1.2.3",), dns_names=("other.example",)
        )
    with jwks_server(serving(files)) as squatter:
        verifier = token_verifier(GroupsSettings(auth_url=squatter.url, auth_ca_location=ca))
        with pytest.raises(TokenKeysUnavailableError):
            verifier.caller(squatter.token(uuid.uuid4()))
        # the transport says why: the certificate, not the keys or the network
        with pytest.raises(KeySetError, match=refusal):
            fetch_jwks(squatter.url + JWKS_PATH, timeout=5, ssl_context=trusting(ca))


def test_the_ca_setting_is_checked_when_read(tmp_path: Path, auth: Issuer, ca: Path) -> None:
    with pytest.raises(ValidationError, match="not https"):
        GroupsSettings(auth_url="http://127.0.0.1:18180", auth_ca_location=ca)
    with pytest.raises(ValidationError, match="auth_ca_location"):
        GroupsSettings(auth_url=auth.url, auth_ca_location=tmp_path / "missing.pem")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(ValidationError, match="no usable PEM certificate"):
        GroupsSettings(auth_url=auth.url, auth_ca_location=junk)
